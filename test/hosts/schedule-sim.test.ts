/**
 * The scheduler model bench/schedule.ts uses, against small graphs worked out by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lowerBound, simulate, type SimHost, type SimJob } from '../../src/hosts/schedule-sim.js';

const build = (id: string, seconds: number, platform: 'amd64' | 'arm64' = 'amd64', deps: string[] = []): SimJob => ({ id, seconds, platform, deps });
const local = (id: string, seconds: number, deps: string[] = []): SimJob => ({ id, seconds, deps });
const x86 = (name: string, slots = 1): SimHost => ({ name, platforms: ['amd64'], slots });
const pi = (name: string, slots = 1): SimHost => ({ name, platforms: ['arm64'], slots });

describe('schedule model', () => {
  test('a chain runs one job after the other: makespan = critical path = work', () => {
    const jobs = [build('a', 2), build('b', 3, 'amd64', ['a'])];
    assert.equal(simulate(jobs, [x86('h')]).makespan, 5);
    assert.deepEqual(lowerBound(jobs, 1), { criticalPath: 5, work: 5, slots: 1, bound: 5, minTail: 0, boundWithTail: 5 });
  });

  test('three 2 s jobs on 2 slots: 4 s (list scheduling), bound max(2, 6/2) = 3', () => {
    const jobs = [build('a', 2), build('b', 2), build('c', 2)];
    const r = simulate(jobs, [x86('h', 2)]);
    assert.equal(r.makespan, 4);
    assert.deepEqual(r.placements.map((p) => [p.id, p.start, p.end]), [['a', 0, 2], ['b', 0, 2], ['c', 2, 4]]);
    assert.equal(lowerBound(jobs, 2).bound, 3);
  });

  test('native hosts first: each job on its own arch, both at once', () => {
    const r = simulate([build('arm', 4, 'arm64'), build('amd', 4, 'amd64')], [x86('x'), pi('p')]);
    assert.equal(r.makespan, 4);
    assert.deepEqual(r.placements.map((p) => [p.id, p.host, p.native]), [['arm', 'p', true], ['amd', 'x', true]]);
  });

  test('no native slot free: the job waits for one (as HostPool does), or with maxForeignFactor Infinity goes foreign at the factor', () => {
    const jobs = [build('a1', 2, 'arm64'), build('a2', 2, 'arm64')];
    // Two arm64 jobs, one arm64 slot, x86 at 3x: waiting 2 s for the native slot ends at 4 s.
    const r = simulate(jobs, [x86('x'), pi('p')], { foreignFactor: { arm64: 3 } });
    assert.deepEqual(r.placements.map((p) => [p.id, p.host, p.end]), [['a1', 'p', 2], ['a2', 'p', 4]]);
    // The earlier policy ran the second on x86 at 3x (6 s) rather than wait.
    const any = simulate(jobs, [x86('x'), pi('p')], { foreignFactor: { arm64: 3 }, maxForeignFactor: Infinity });
    assert.deepEqual(any.placements.map((p) => [p.id, p.host, p.end]), [['a1', 'p', 2], ['a2', 'x', 6]]);
    // With no host native for arm64 at all, the foreign host takes it.
    assert.equal(simulate(jobs, [x86('x')], { foreignFactor: { arm64: 3 } }).makespan, 12);
    // The bound counts native time only: max(2, 4/2).
    assert.equal(lowerBound(jobs, 2).bound, 2);
  });

  test('a job that waits for its native slot does not hold back a job behind it that has a free host', () => {
    // a1 takes the Pi; a2 waits for it; x (amd64), ready after a2, still starts at once on x86.
    const r = simulate([build('a1', 4, 'arm64'), build('a2', 4, 'arm64'), build('x', 1, 'amd64')], [x86('x86'), pi('p')], { foreignFactor: { arm64: 3 } });
    assert.deepEqual(r.placements.map((p) => [p.id, p.host, p.start]), [['a1', 'p', 0], ['a2', 'p', 4], ['x', 'x86', 0]]);
  });

  test('coordinator jobs take no slot; a release waits for every arch; FIFO by readiness', () => {
    // fetch(1) -> two builds (3 s, 1 s) on one slot -> package(2) each -> index(1) after both packages.
    const jobs = [
      local('fetch', 1),
      build('b-arm', 3, 'amd64', ['fetch']),
      build('b-amd', 1, 'amd64', ['fetch']),
      local('pkg-arm', 2, ['b-arm']),
      local('pkg-amd', 2, ['b-amd']),
      local('index', 1, ['pkg-arm', 'pkg-amd']),
    ];
    const r = simulate(jobs, [x86('h')]);
    const at = Object.fromEntries(r.placements.map((p) => [p.id, [p.start, p.end]]));
    assert.deepEqual(at, { fetch: [0, 1], 'b-arm': [1, 4], 'b-amd': [4, 5], 'pkg-arm': [4, 6], 'pkg-amd': [5, 7], index: [7, 8] });
    assert.equal(r.makespan, 8);
    // Critical path fetch+b-arm+pkg-arm+index = 7; work 4 on 1 slot: bound 7.
    // Each build's tail is its package and the index: 3 s; 4/1 + 3 = 7 too.
    assert.deepEqual(lowerBound(jobs, 1), { criticalPath: 7, work: 4, slots: 1, bound: 7, minTail: 3, boundWithTail: 7 });
  });

  test('the tail bound: the host job that ends last still has its dependents to run', () => {
    // Three 2 s builds on 2 slots, each followed by a 1 s package: W/S = 3, CP = 3; the last build
    // ends at 3 or later and its package takes 1 s more: 4. List scheduling gives 2,2 | 2 -> 4, +1 = 5.
    const jobs = ['a', 'b', 'c'].flatMap((x) => [build(x, 2), local(`p${x}`, 1, [x])]);
    assert.deepEqual(lowerBound(jobs, 2), { criticalPath: 3, work: 6, slots: 2, bound: 3, minTail: 1, boundWithTail: 4 });
    assert.equal(simulate(jobs, [x86('h', 2)]).makespan, 5);
  });

  test('maxForeignFactor 1: a job that would run under qemu waits for a native slot instead', () => {
    // Two amd64 jobs of 2 s, one x86 and one arm64 host, qemu 5x: the earlier policy ran the second
    // on the arm64 host (10 s); waiting for the x86 slot finishes at 4 s.
    const jobs = [build('x1', 2), build('x2', 2)];
    const hosts = [x86('x'), pi('p')];
    assert.equal(simulate(jobs, hosts, { foreignFactor: { amd64: 5 }, maxForeignFactor: Infinity }).makespan, 10);
    const r = simulate(jobs, hosts, { foreignFactor: { amd64: 5 }, maxForeignFactor: 1 });
    assert.deepEqual(r.placements.map((p) => [p.id, p.host, p.start, p.end]), [['x1', 'x', 0, 2], ['x2', 'x', 2, 4]]);
    // A job whose foreign factor is 1 (cross on x86) still takes any free host.
    assert.equal(simulate([build('a1', 2, 'arm64'), build('a2', 2, 'arm64')], hosts, { foreignFactor: { arm64: 1, amd64: 5 }, maxForeignFactor: 1 }).makespan, 2);
  });

  test('bad graphs are refused, naming the job', () => {
    assert.throws(() => simulate([build('a', 1, 'amd64', ['nope'])], [x86('h')]), /a depends on nope, which is not in the graph/);
    assert.throws(() => simulate([build('a', 1), build('a', 2)], [x86('h')]), /job a is listed twice/);
    assert.throws(() => lowerBound([build('a', 1, 'amd64', ['b']), build('b', 1, 'amd64', ['a'])], 1), /cycle/);
    assert.throws(() => simulate([build('a', -1)], [x86('h')]), /a: seconds must be a number >= 0/);
  });
});
