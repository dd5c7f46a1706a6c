/**
 * /usr/share/doc/cri-o/README.Debian: what the package set up and what is left to the
 * administrator (from the Raspberry Pi guide this project replaces).
 */
import { CNI_PLUGIN_DIR, CRIO_BRIDGE_CONF_NAME, LOOPBACK_CONF_NAME } from './cni.js';
import { CRIO_DROPIN_DIR, PAUSE_IMAGE_DROPIN, PAUSE_REGISTRY, SETTINGS_DROPIN, type CrioSettings } from './crio-config.js';
import { changelogDate } from './docs.js';
import { supportsCgroupV2 } from './preflight.js';

export function crioReadmeDebian(o: { kubernetes: string; criOVersion: string; settings: CrioSettings; dropIns: boolean; maintainer: string; date: number }): string {
  const s = o.settings;
  const where = o.dropIns
    ? `in ${CRIO_DROPIN_DIR}/${SETTINGS_DROPIN}${s.pauseImage !== undefined ? ` and ${PAUSE_IMAGE_DROPIN}` : ''}.
CRI-O reads the files there after /etc/crio/crio.conf, in lexical order, a later
file winning: put your own settings in a later file such as
${CRIO_DROPIN_DIR}/99-local.conf rather than editing ours.`
    : `written into /etc/crio/crio.conf (this CRI-O branch does not read
${CRIO_DROPIN_DIR}).`;
  const local = o.dropIns ? `${CRIO_DROPIN_DIR}/99-local.conf` : '/etc/crio/crio.conf';
  const registries = s.registries?.length ? `\n    registries = [${s.registries.map((r) => `"${r}"`).join(', ')}]` : '';
  const pause = s.pauseImage !== undefined ? `\n    pause_image = "${s.pauseImage}"` : '';
  const pauseText =
    s.pauseImageFrom === 'site'
      ? `The pause image (the image of every pod's infra container) is ${s.pauseImage},
set for this site when the packages were built (crio-build --pause-image).`
      : `The pause image (the image of every pod's infra container) is ${s.pauseImage}:
this CRI-O's own tag, from ${PAUSE_REGISTRY}, which replaced k8s.gcr.io (k8s.gcr.io
no longer serves new pulls). It is a multi-arch manifest list, so arm64 and amd64
nodes each pull their own image. Sites without access to it (air-gapped
registries) set their own: pause_image = "registry.example.org/pause:TAG" in
${local} (or build the packages with crio-build --pause-image).`;
  return `cri-o for Debian (built by crio-build)
======================================

The service
-----------
crio.service is enabled, but not started, when the package is first installed:
configure the node first, check it with

    crio-preflight

then run

    systemctl start crio

On upgrades a running crio is restarted; removing the package stops it; the
service is never started by the package. Containers keep running across a
restart of crio (conmon holds them).

What the node needs: crio-preflight
------------------------------------
crio-preflight (see crio-preflight(8)) prints what this CRI-O (${o.criOVersion})
needs from the node and what is missing, and exits 1 when something is:

  - the memory cgroup: Raspberry Pi kernels disable it unless the kernel
    command line has cgroup_enable=memory cgroup_memory=1; add both to the
    single line of /boot/firmware/cmdline.txt (/boot/cmdline.txt before
    Raspberry Pi OS bookworm) and reboot;
  - ${supportsCgroupV2(o.criOVersion) ? 'cgroup v1 or v2: this CRI-O runs on both;' : `cgroup v1: CRI-O before 1.20 does not run on a cgroup v2 only (unified)
    host; boot such a host with systemd.unified_cgroup_hierarchy=0;`}
  - the hugetlb cgroup, which CRI-O 1.18.0 needs to create containers (fixed
    in 1.18.1);
  - the CPU CFS quota (cpu.cfs_quota_us, CONFIG_CFS_BANDWIDTH), for CPU limits;
  - the kubelet's cgroup driver matching crio's cgroup_manager, and the
    kubelet.service.d drop-in below;
  - the image policy /etc/containers/policy.json;
  - for CNI plugins before v0.8.5, bridge VLAN filtering in the kernel
    (CONFIG_BRIDGE_VLAN_FILTERING).

Configuration
-------------
/etc/crio/crio.conf is the configuration the packaged crio itself printed
(crio config). The settings of this package:

    cgroup_manager = "${s.cgroupManager}"
    conmon = "${s.conmon}"
    log_level = "${s.logLevel}"${registries}${pause}

are ${where}

All files in /etc are conffiles: your changes are kept on upgrade and removed
only by dpkg --purge.

conmon, and podman beside CRI-O
-------------------------------
CRI-O runs its containers through ${s.conmon}, from the cri-o-conmon
package: the conmon version this CRI-O branch is tested with. It does not
replace Debian's conmon package (/usr/bin/conmon), which podman and buildah
need (podman 3.2 and later pass conmon options an older conmon lacks), so
podman, buildah and skopeo from Debian can be installed beside CRI-O and
either side removed without touching the other.

Images: policy, registries and the pause image
-----------------------------------------------
The image policy /etc/containers/policy.json comes from Debian's
golang-github-containers-common, and /etc/containers/registries.conf from
golang-github-containers-image (which it depends on): the same files podman,
buildah and skopeo use, so installing or removing those beside CRI-O changes
nothing for either. Debian's policy accepts any image (insecureAcceptAnything);
see containers-policy.json(5) to require signatures.
${s.registries?.length ? `
Unqualified image names (crictl pull busybox, image: nginx in a pod) are looked
up in ${s.registries.join(', ')} (registries in ${CRIO_DROPIN_DIR}/${SETTINGS_DROPIN}): Debian's
registries.conf names no search registry. Fully qualified names
(docker.io/library/busybox:1.36) never depend on it.
` : `
Unqualified image names (crictl pull busybox) are looked up in the
unqualified-search-registries of /etc/containers/registries.conf (or a file in
/etc/containers/registries.conf.d/), which Debian leaves empty: use fully
qualified names (docker.io/library/busybox:1.36) or set it there.
`}
${pauseText}

To check it, ask CRI-O what it resolved and pulled:

    crio config 2>/dev/null | grep '^pause_image'
    crictl pull ${s.pauseImage ?? `${PAUSE_REGISTRY}/pause:TAG`}
    crictl inspecti ${s.pauseImage ?? `${PAUSE_REGISTRY}/pause:TAG`}

and, from any machine with skopeo and jq, that the tag is a manifest list with
your architecture in it:

    skopeo inspect --raw docker://${s.pauseImage ?? `${PAUSE_REGISTRY}/pause:TAG`} | jq '.manifests[].platform'

Kubernetes
----------
This CRI-O is for Kubernetes ${o.kubernetes}; CRI-O's minor version must match the
kubelet's. With cgroup_manager = "systemd" the kubelet must use the same driver:
set cgroupDriver: systemd in its configuration (/var/lib/kubelet/config.yaml),
and add a kubelet.service.d drop-in (for example
/etc/systemd/system/kubelet.service.d/11-cgroups.conf) with

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
