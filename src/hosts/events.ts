/** Progress the builder reports while it works, for the CLI's display (it renders; we never print). */
export interface BuilderEvent {
  /** Which part of the builder speaks. */
  scope: 'base' | 'builder' | 'build' | 'verify';
  /** A short machine-readable step: "reuse", "debootstrap", "tar", "build", "step", "generate", "extract", ... */
  phase: string;
  message: string;
}
export type OnBuilderEvent = (ev: BuilderEvent) => void;
