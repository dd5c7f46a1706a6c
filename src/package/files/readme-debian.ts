/**
 * /usr/share/doc/cri-o/README.Debian: what the package set up and what is left to the
 * administrator (from the Raspberry Pi guide this project replaces).
 */
import { CNI_PLUGIN_DIR, CRIO_BRIDGE_CONF_NAME, LOOPBACK_CONF_NAME } from './cni.js';
import { CRIO_DROPIN_DIR, PAUSE_IMAGE_DROPIN, SETTINGS_DROPIN, type CrioSettings } from './crio-config.js';
import { changelogDate } from './docs.js';

export function crioReadmeDebian(o: { kubernetes: string; settings: CrioSettings; dropIns: boolean; maintainer: string; date: number }): string {
  const where = o.dropIns
    ? `in ${CRIO_DROPIN_DIR}/${SETTINGS_DROPIN}${o.settings.pauseImage !== undefined ? ` and ${PAUSE_IMAGE_DROPIN}` : ''}.
CRI-O reads the files there after /etc/crio/crio.conf, in lexical order, a later
file winning: put your own settings in a later file such as
${CRIO_DROPIN_DIR}/99-local.conf rather than editing ours.`
    : `written into /etc/crio/crio.conf (this CRI-O branch does not read
${CRIO_DROPIN_DIR}).`;
  return `cri-o for Debian (built by crio-build)
======================================

The service
-----------
crio.service is enabled, but not started, when the package is first installed:
configure the node first, then run

    systemctl start crio

On upgrades a running crio is restarted; removing the package stops it; the
service is never started by the package. Containers keep running across a
restart of crio (conmon holds them).

Configuration
-------------
/etc/crio/crio.conf is the configuration the packaged crio itself printed
(crio config). The settings of this package:

    cgroup_manager = "${o.settings.cgroupManager}"
    conmon = "${o.settings.conmon}"
    log_level = "${o.settings.logLevel}"${o.settings.pauseImage !== undefined ? `\n    pause_image = "${o.settings.pauseImage}"` : ''}

are ${where}

All files in /etc are conffiles: your changes are kept on upgrade and removed
only by dpkg --purge.

Kubernetes
----------
This CRI-O is for Kubernetes ${o.kubernetes}; CRI-O's minor version must match the
kubelet's. With cgroup_manager = "systemd" the kubelet must use the same driver:
set cgroupDriver: systemd in its configuration (/var/lib/kubelet/config.yaml),
and add a kubelet.service.d drop-in with

    [Service]
    CPUAccounting=true
    MemoryAccounting=true

Point the kubelet at unix:///var/run/crio/crio.sock; crictl reads the same
endpoint from /etc/crictl.yaml.

Networking
----------
${CRIO_BRIDGE_CONF_NAME} and ${LOOPBACK_CONF_NAME} in /etc/cni/net.d give pods a bridge
network. CRI-O and the kubelet use the configuration that sorts first, so a pod
network's own file (flannel's 10-flannel.conflist) takes precedence without
removing ours. The CNI plugins are in ${CNI_PLUGIN_DIR} (containernetworking-plugins).

 -- ${o.maintainer}  ${changelogDate(o.date)}
`;
}
