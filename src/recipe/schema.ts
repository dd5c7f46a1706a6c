/**
 * The recipe language: recipes are data (BitBake-style), this file is their grammar.
 * Every object is strict (unknown keys are errors) so a typo never silently changes a build.
 */
import parseSpdxExpression from 'spdx-expression-parse';
import { z } from 'zod';

export const SUPPORTED_ARCHES = ['arm64', 'amd64'] as const;
export type Arch = (typeof SUPPORTED_ARCHES)[number];
export const STRATEGIES = ['emulate', 'cross'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Names that end up in paths, image tags and package names: no spaces, slashes, `..` or leading dashes. */
export const safeName = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

/** A git ref name as found in ls-remote output (branch or tag), kept conservative. */
export const refName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'letters, digits, ".", "_", "/" and "-", starting with a letter or digit')
  .refine((s) => !s.includes('..') && !s.endsWith('.lock') && !s.endsWith('/'), 'not a valid git ref name');

/** A licence as SPDX writes it (Annex D): "Apache-2.0", "MIT OR Apache-2.0"; for the SBOMs. */
export const spdxLicense = z
  .string()
  .max(200)
  .refine((s) => {
    try {
      parseSpdxExpression(s);
      return true;
    } catch {
      return false;
    }
  }, 'an SPDX licence expression of SPDX licence identifiers, such as Apache-2.0 or "MIT OR Apache-2.0" (https://spdx.org/licenses/)');

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits (a sha256)');
export const gitCommit = z.string().regex(/^[0-9a-f]{40}$/, '40 lower-case hex digits (a full git commit id)');
export const sourceUrl = z
  .string()
  .max(2048)
  // No control or invisible characters either: a NUL would crash git's argv, an RTL override spoofs the plan.
  .regex(/^(https?|file):\/\/[^\s\p{Cc}\p{Cf}]+$/u, 'an http://, https:// or file:// URL without spaces or control characters');

/** A path inside the source tree: relative, no `..` or `.`-only path, no control characters (checked again at build time). */
const treePath = z
  .string()
  .max(512)
  .regex(/^[^/\p{Cc}\p{Cf}][^\p{Cc}\p{Cf}]*$/u, 'a relative path inside the source tree, without control characters')
  .refine((p) => !p.split('/').includes('..') && p.split('/').some((s) => s !== '' && s !== '.'), 'a relative path inside the source tree, without ".."');

/** A single directory name (what a toolchain archive unpacks to): not ".", "..", or an option-like "-x". */
export const dirName = z.string().max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a single directory name (letters, digits, ".", "_" and "-", starting with a letter or digit)');

const envMap = z.record(
  z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)'),
  z.string().max(4096),
);
/** A command is an argv array: it is executed without a shell, so recipe text is never shell-parsed. */
const argv = z.array(z.string().max(4096)).min(1).max(256);

export const OUTPUT_TYPES = ['binary', 'config', 'unit', 'man', 'completion', 'doc'] as const;
const output = z
  .object({
    /** Path relative to the source tree after the build; a directory is taken whole. */
    path: treePath,
    type: z.enum(OUTPUT_TYPES),
    /** For binaries: the arguments that make it print its version (run under qemu for a foreign arch). */
    versionArgs: z.array(z.string().max(256)).max(8).optional(),
    /** Absent on some branches (e.g. man pages that need go-md2man): missing is not an error. */
    optional: z.boolean().optional(),
  })
  .strict();

/** A file made by running a freshly built binary, like cri-o's `make crio.conf`. */
const generated = z
  .object({
    path: treePath,
    run: argv,
  })
  .strict();

export const LIBRARIES = ['libseccomp', 'glib', 'gpgme', 'libassuan', 'btrfs', 'devmapper', 'systemd'] as const;

export const buildDefinition = z
  .object({
    language: z.enum(['go', 'c']),
    /** Go code that links C (cgo): cross builds then need the target's C compiler and libraries. */
    cgo: z.boolean().default(false),
    builder: safeName.default('debian-bookworm'),
    strategy: z.enum(STRATEGIES).default('cross'),
    /** C libraries the build links, mapped by the builder to Debian -dev packages. */
    libraries: z.array(z.enum(LIBRARIES)).default([]),
    /** Go build tags, passed to the build as {buildTags}. */
    buildTags: z.array(z.string().regex(/^[a-z0-9_.]+$/, 'a Go build tag')).default([]),
    /** GOPATH-mode projects (before go modules): the import path the source is placed at. */
    gopath: z.string().regex(/^[a-z0-9.-]+(\/[A-Za-z0-9._-]+)+$/, 'an import path such as github.com/cri-o/cri-o').optional(),
    env: envMap.default({}),
    steps: z.array(argv).min(1).max(32),
    generate: z.array(generated).default([]),
    outputs: z.array(output).min(1).max(64),
  })
  .strict();

/** What a branch may change in a component's build for itself only. */
export const buildOverride = z
  .object({
    toolchain: safeName.optional(),
    strategy: z.enum(STRATEGIES).optional(),
    buildTags: buildDefinition.shape.buildTags.unwrap().optional(),
    gopath: buildDefinition.shape.gopath,
    env: envMap.optional(),
    steps: buildDefinition.shape.steps.optional(),
    generate: buildDefinition.shape.generate.unwrap().optional(),
    outputs: buildDefinition.shape.outputs.optional(),
  })
  .strict();

export const toolchainRecipe = z
  .object({
    kind: z.literal('toolchain'),
    name: safeName,
    language: z.literal('go'),
    version: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'a version such as 1.13.10'),
    /** The directory the archive unpacks to (go's tarballs hold `go/`). */
    root: dirName,
    archives: z
      .object({ amd64: z.object({ url: sourceUrl, sha256: sha256Hex }).strict().optional(), arm64: z.object({ url: sourceUrl, sha256: sha256Hex }).strict().optional() })
      .strict(),
    /** Build environment that depends on this toolchain (e.g. GOFLAGS a newer Go needs). */
    env: envMap.default({}),
  })
  .strict();

export const componentRecipe = z
  .object({
    kind: z.literal('component'),
    name: safeName,
    description: z.string().max(2000),
    homepage: z.string().url(),
    /** The upstream's licence as its LICENSE file declares it, cited in the recipe. */
    license: spdxLicense,
    source: z.object({ git: sourceUrl }).strict(),
    /**
     * Release tags: tag -> the commit it points at (cited in the recipe). Where no public source for
     * the commit could be found, the recipe says why instead, and the tag is resolved on first use
     * and recorded in the lock (trust on first use): visible, never silent.
     */
    releases: z.record(refName, z.union([z.object({ commit: gitCommit }).strict(), z.object({ trustOnFirstUse: z.string().min(10).max(500) }).strict()])).default({}),
    build: buildDefinition,
  })
  .strict();

/**
 * What a branch builds of a component: a pinned release tag, a branch head, the version cri-o's own
 * dependency file names (`follow`: for main, whose companions move with it), or a copy that lives in
 * another component's tree (`inTreeOf`: cri-o 1.15 builds its own conmon from conmon/).
 */
const componentRef = z.union([
  z.object({ tag: refName }).strict(),
  z.object({ branch: refName }).strict(),
  z.object({ follow: treePath }).strict(),
  z.object({ inTreeOf: safeName }).strict(),
]);

/** A value read at resolve time from a file of the cri-o commit being built (a moving branch such as main). */
const followFile = z.object({ follow: treePath }).strict();
export type FollowFile = z.infer<typeof followFile>;

export const kubernetesMinor = z.string().regex(/^1\.\d+$/, 'a Kubernetes minor such as "1.18"');
export const versionGlob = z.string().regex(/^v?[0-9.]*\*$/, 'a tag glob such as "v1.18.*"');

export const branchRecipe = z
  .object({
    kind: z.literal('branch'),
    name: safeName,
    /**
     * The Kubernetes minor this branch serves: CRI-O's minor follows Kubernetes'. Or `follow:` a Go file
     * with `const Version = "1.37.0"` (cri-o's internal/version/version.go), read from the commit built.
     */
    kubernetes: z.union([kubernetesMinor, followFile]),
    /** Tags of this branch's releases, used for package versions (a glob with one `*`); default v<kubernetes>.*. */
    versionTags: versionGlob.optional(),
    /** The Go toolchain (a recipe in toolchains/), or `follow:` the go directive of a go.mod in the commit built. */
    toolchain: z.union([safeName, followFile]),
    components: z.record(safeName, componentRef).refine((c) => Object.keys(c).length > 0, 'at least one component'),
    overrides: z.record(safeName, buildOverride).default({}),
  })
  .strict();

export type BuildDefinition = z.infer<typeof buildDefinition>;
export type BuildOverride = z.infer<typeof buildOverride>;
export type ToolchainRecipe = z.infer<typeof toolchainRecipe>;
export type ComponentRecipe = z.infer<typeof componentRecipe>;
export type BranchRecipe = z.infer<typeof branchRecipe>;
export type ComponentRef = z.infer<typeof componentRef>;
export type OutputSpec = z.infer<typeof output>;

export const recipeSchemas = {
  toolchain: toolchainRecipe,
  component: componentRecipe,
  branch: branchRecipe,
} as const;
export type RecipeKind = keyof typeof recipeSchemas;
