/**
 * How a component was built, as far as the documents beside the packages need it (the SBOM's
 * source, toolchain and licence; the .buildinfo's builder packages and environment). The build
 * stage records it (src/package/record.ts, RecordedComponent, which has this shape and more) in
 * artifacts/<branch>/<arch>/provenance/<component>.json; the pipeline and `crio-build package`
 * hand it to the package stage on each BuiltComponent.
 */
import type { BuilderProvenance } from '../hosts/images/builder-image.js';

export interface BuildProvenance {
  /** The upstream repository, as the recipe names it (not a mirror). */
  url: string;
  /** "tag v1.18.3" or "branch release-1.18". */
  ref?: string;
  /** The component's licence as an SPDX expression, from its recipe. */
  license?: string;
  toolchain: { name: string; version: string; sha256: string; url: string };
  /** The builder image: its key, platform, cross target and every installed Debian package. */
  builder?: Pick<BuilderProvenance, 'key' | 'name' | 'platform' | 'crossTarget' | 'packages'> & Partial<Pick<BuilderProvenance, 'image' | 'imageId'>>;
  /** The environment the build ran with (src/build/build-env.ts), as recorded. */
  environment?: Record<string, string>;
  /** Where the source tree was unpacked in the builder (/build/src, or under GOPATH). */
  buildPath?: string;
}
