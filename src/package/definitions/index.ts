// The package definitions, one per component, by component recipe name.
import { conmon } from './conmon.js';
import { cniPlugins } from './cni-plugins.js';
import { criO } from './cri-o.js';
import { criTools } from './cri-tools.js';
import type { PackageDefinition } from './types.js';

export type { BuiltComponent, PackageContext, PackageDefinition } from './types.js';

export const DEFINITIONS: ReadonlyMap<string, PackageDefinition> = new Map(
  [criO, conmon, cniPlugins, criTools].map((d) => [d.component, d]),
);

export function definitionFor(component: string): PackageDefinition {
  const d = DEFINITIONS.get(component);
  if (!d) throw new Error(`no package definition for component "${component}" (known: ${[...DEFINITIONS.keys()].join(', ')})`);
  return d;
}
