/**
 * The environment for the tools crio-build runs on the host (git, xz, debootstrap, dpkg-shlibdeps):
 * the user's environment without crio-build's secrets, which no child needs. gpg gets its own,
 * smaller environment (src/index/apt/gpg.ts); build containers get only their build env.
 */
export const SECRET_ENV = ['GITHUB_TOKEN', 'GH_TOKEN', 'CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE'] as const;

export function childEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const k of SECRET_ENV) delete env[k];
  return env;
}
