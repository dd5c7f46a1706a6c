/**
 * Started by scripts/run-tests.js beside a full test run: makes the builder images the suite needs,
 * the slowest first (the foreign-arch builder, debootstrap and apt-get under qemu: most of 20 minutes
 * on a fresh 2-core machine), so that those minutes overlap with the test files that need no such
 * image instead of adding to them. The images are exactly the ones the tests ask for (same builder
 * definition, same test toolchains, so the same content keys); a test that reaches an image still
 * being made waits for it on the image lock rather than making it twice. Not a test: it asserts
 * nothing, and the run's result never depends on it.
 */
import { join } from 'node:path';
import { ensureBuilderImage, type BuilderSpec } from '../src/hosts/images/builder-image.js';
import { TEST_CACHE, testDriver, toolchain } from './build/fixtures.js';

const driver = await testDriver();
const host = await driver.hostArch();
const foreign = host === 'amd64' ? 'arm64' : 'amd64';
const specs: BuilderSpec[] = [
  { name: 'debian-bookworm', platform: foreign, toolchain: await toolchain(foreign) },
  { name: 'debian-bookworm', platform: host, crossTarget: foreign, toolchain: await toolchain(host) },
  { name: 'debian-bookworm', platform: host, toolchain: await toolchain(host) },
];
for (const spec of specs) {
  const t0 = Date.now();
  const image = await ensureBuilderImage(driver, spec, { base: { debCacheDir: join(TEST_CACHE, 'debootstrap') } });
  console.log(`prewarm: ${image.tag} (${spec.platform}${spec.crossTarget ? ` -> ${spec.crossTarget}` : ''}) ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
