/**
 * /etc/crictl.yaml, pointing crictl at CRI-O's socket. cri-o's own crictl.yaml (top of the source
 * tree, installed by `make install.config`) is used when the build hands it over; this is the same
 * content, for branches whose outputs lack it. The keys are crictl's (cri-tools
 * docs/crictl.md: runtime-endpoint, image-endpoint, timeout, debug).
 */
export const CRICTL_YAML_PATH = '/etc/crictl.yaml';
export const CRIO_SOCKET_ENDPOINT = 'unix:///var/run/crio/crio.sock';

export const CRICTL_YAML = `runtime-endpoint: ${CRIO_SOCKET_ENDPOINT}
image-endpoint: ${CRIO_SOCKET_ENDPOINT}
timeout: 10
debug: false
`;

/** Checks a crictl.yaml from the build points at CRI-O's socket; returns the reason when not. */
export function crictlYamlProblem(text: string): string | undefined {
  const m = /^runtime-endpoint:\s*(\S+)\s*$/m.exec(text);
  if (!m) return 'it has no runtime-endpoint';
  if (m[1] !== CRIO_SOCKET_ENDPOINT) return `its runtime-endpoint is ${m[1]}, not ${CRIO_SOCKET_ENDPOINT}`;
  return undefined;
}
