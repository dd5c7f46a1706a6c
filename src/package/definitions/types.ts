// Types shared by the package definitions, the bundle and the package stage.
import type { Arch } from '../../recipe/schema.js';
import type { DebInput } from '../deb/index.js';
import type { PreparedBinary } from './elf.js';
import type { BuiltComponent } from '../../build/outputs.js';

export type { BuiltComponent } from '../../build/outputs.js';

/** Everything a definition may look at. */
export interface PackageContext {
  branch: string;
  kubernetes: string;
  arch: Arch;
  maintainer: string;
  pauseImage?: string;
  /** The component this package is made from. */
  component: BuiltComponent;
  /** All components of this run, by name (cri-o's Depends name the versions of its siblings). */
  components: ReadonlyMap<string, BuiltComponent>;
  /** Checks and strips a binary once per run (memoized). */
  prepareBinary(path: string): Promise<PreparedBinary>;
  /** Non-fatal problems, reported in the stage result. */
  warn(message: string): void;
}

export interface PackageDefinition {
  /** Component recipe name. */
  component: string;
  /** Debian package name. */
  debName: string;
  /**
   * What the package reads besides its own component, so that its content key (../keys.ts) changes
   * exactly when its bytes may: the sibling components whose version it names (they are all a
   * definition may look up in ctx.components; any other lookup fails), and whether it uses the pause
   * image (ctx.pauseImage is undefined for the others).
   */
  reads?: { siblings?: readonly string[]; pauseImage?: boolean };
  /** The package, ready for writeDeb. */
  describe(ctx: PackageContext): Promise<DebInput>;
}
