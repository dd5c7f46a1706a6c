/**
 * The pieces of the provenance and notes that need no build: DSSE's PAE against the spec's own
 * example, the envelope reader, the statement made from records, and the notes' verify commands.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envelopeLine, pae, parseEnvelope } from '../../src/index/attest/dsse.js';
import { makeStatement } from '../../src/index/attest/statement.js';
import { releaseNotes, verifyCommands } from '../../src/index/notes.js';
import type { ReleaseRecord } from '../../src/package/record.js';

const record: ReleaseRecord = {
  format: 1,
  branch: 'release-1.18',
  kubernetes: '1.18',
  arch: 'arm64',
  releaseTag: 'v1.18.3',
  nightly: false,
  criOVersion: '1.18.3',
  packagedAt: '2026-01-01T00:00:00.000Z',
  key: 'k'.repeat(64),
  components: [
    {
      name: 'cri-o', version: '1.18.3', url: 'https://github.com/cri-o/cri-o', ref: 'tag v1.18.3', commit: 'a'.repeat(40), commitTime: 1, pinnedBy: 'recipe', strategy: 'cross',
      builderImage: 'crio-build/builder:x', buildKey: 'b'.repeat(64), toolchain: { name: 'go1.13.10', version: '1.13.10', sha256: 'c'.repeat(64), url: 'https://dl.google.com/go/go1.13.10.linux-amd64.tar.gz' }, cacheHit: false,
    },
  ],
  artifacts: [{ file: 'cri-o_1.18.3-1_arm64.deb', sha256: 'd'.repeat(64), size: 10, component: 'cri-o', package: { name: 'cri-o', version: '100:1.18.3-1' } }],
};

describe('provenance pieces and release notes', () => {
  test('PAE is the DSSE spec\'s encoding (its example: DSSEv1 29 http://example.com/HelloWorld 11 hello world)', () => {
    assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    // Lengths are byte counts, not characters.
    assert.equal(pae('t', Buffer.from('é', 'utf8')).toString('utf8'), 'DSSEv1 1 t 2 é');
  });

  test('an envelope line reads back; a malformed one is refused with the reason', () => {
    const e = { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{}').toString('base64'), signatures: [{ keyid: 'F'.repeat(40), sig: 'AAAA' }] };
    assert.deepEqual(parseEnvelope(envelopeLine(e)).envelope, e);
    assert.match(parseEnvelope('{"payloadType":"x","payload":"!!","signatures":[]}').problems.join(';'), /payload missing or not base64;signatures missing/);
    assert.match(parseEnvelope('a\nb\n').problems[0]!, /expected one envelope line, found 2/);
  });

  test('the statement: sorted subjects, the source as git+url@ref with its gitCommit, the toolchain by sha256', () => {
    const s = makeStatement({ tag: 'v1.18.3', records: [record], subjects: [{ name: 'b', digest: { sha256: '1'.repeat(64) } }, { name: 'a', digest: { sha256: '2'.repeat(64) } }] });
    assert.deepEqual(s.subject.map((x) => x.name), ['a', 'b']);
    assert.deepEqual(s.predicate.buildDefinition.resolvedDependencies.slice(0, 2), [
      { name: 'cri-o', uri: 'git+https://github.com/cri-o/cri-o@v1.18.3', digest: { gitCommit: 'a'.repeat(40) } },
      { name: 'go1.13.10 (1.13.10)', uri: 'https://dl.google.com/go/go1.13.10.linux-amd64.tar.gz', digest: { sha256: 'c'.repeat(64) } },
    ]);
    // A record without its run (made by `crio-build package`) still gives a statement, without rebuild inputs.
    assert.equal(s.predicate.buildDefinition.internalParameters.arches[0]!.build, undefined);
  });

  test('the notes show the two verify commands for the release\'s URL, after the install block', () => {
    const base = 'https://github.com/o/r/releases/download/v1.18.3';
    const notes = releaseNotes({ tag: 'v1.18.3', records: [record], checksums: '', apt: { baseUrl: base, keyringFile: 'k.gpg' } });
    const [check, rebuild] = verifyCommands(base);
    assert.equal(check, `crio-build verify ${base}`);
    assert.equal(rebuild, `crio-build verify --rebuild ${base}`);
    assert.ok(notes.includes(`## Check this release\n\n\`\`\`sh\n${check}\n${rebuild}\n\`\`\``), notes);
    assert.ok(notes.indexOf('apt-get install cri-o') < notes.indexOf(check), 'the first sh block stays the install lines');
  });
});

describe('the recorded run publishes no credentials', () => {
  test('userinfo is cut from URLs in arguments and settings', async () => {
    const { withoutCredentials } = await import('../../src/package/invocation.js');
    assert.equal(withoutCredentials('--mirror=https://github.com/=https://bot:s3cret@git.example.org/mirror/'), '--mirror=https://github.com/=https://git.example.org/mirror/');
    assert.equal(withoutCredentials('file:///srv/mirror/'), 'file:///srv/mirror/');
    assert.equal(withoutCredentials('http://user@host/x and ftp://a:b@c/'), 'http://host/x and ftp://c/');
  });
});
