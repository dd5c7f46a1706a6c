/**
 * The CNI network configurations the cri-o package installs in /etc/cni/net.d.
 *
 * Contents as cri-o's contrib/cni/10-crio-bridge.conf and contrib/cni/99-loopback.conf were in the
 * release-1.18 era, as packaged for CRI-O 1.18.0 on arm64 in the Raspberry Pi guide this project
 * replaces (network "crio-bridge", 10.88.0.0/16 plus the 1100:200::/24 IPv6 range; the loopback
 * config without a name: 54 bytes, the size the openSUSE Kubic packages' 200-loopback.conf has in
 * listings). Later cri-o releases renamed the network to "crio" and moved to 10.85.0.0/16
 * (cri-o/cri-o contrib/cni/10-crio-bridge.conf @256d40ede2a7eb2e349b0736138771f69dcd85d8).
 *
 * The file names are those of the Kubic packages (100-crio-bridge.conf, 200-loopback.conf; see
 * kontena/pharos-cluster lib/kupo/scripts/configure-cri-o.sh, which removes exactly these two after
 * installing cri-o from Kubic): CRI-O and the kubelet take the configuration that sorts first, so a
 * pod network's own file such as flannel's 10-flannel.conflist wins over ours without edits.
 */

export const CNI_CONFIG_DIR = '/etc/cni/net.d';
export const CNI_PLUGIN_DIR = '/opt/cni/bin';

export const CRIO_BRIDGE_CONF_NAME = '100-crio-bridge.conf';
export const LOOPBACK_CONF_NAME = '200-loopback.conf';

export const CRIO_BRIDGE_CONF = `{
    "cniVersion": "0.3.1",
    "name": "crio-bridge",
    "type": "bridge",
    "bridge": "cni0",
    "isGateway": true,
    "ipMasq": true,
    "hairpinMode": true,
    "ipam": {
        "type": "host-local",
        "routes": [
            { "dst": "0.0.0.0/0" },
            { "dst": "1100:200::1/24" }
        ],
        "ranges": [
            [{ "subnet": "10.88.0.0/16" }],
            [{ "subnet": "1100:200::/24" }]
        ]
    }
}
`;

export const LOOPBACK_CONF = `{
    "cniVersion": "0.3.1",
    "type": "loopback"
}
`;

/** [file name, content] of the configurations, in install order. */
export const CNI_CONFIGS: ReadonlyArray<readonly [string, string]> = [
  [CRIO_BRIDGE_CONF_NAME, CRIO_BRIDGE_CONF],
  [LOOPBACK_CONF_NAME, LOOPBACK_CONF],
];
