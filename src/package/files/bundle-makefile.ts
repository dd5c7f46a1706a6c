/**
 * The install Makefile and README of the bundle tarball. Modelled on cri-o's own
 * contrib/bundle/Makefile (cri-o/cri-o @25dec061a46e59e0edab22e15c1ea9123338f45d: targets install-cni,
 * install-conmon, install-crio, install-crictl, install-pinns; PREFIX, ETCDIR, BINDIR, MANDIR,
 * completion and systemd directories; OPT_CNI_BIN_DIR=/opt/cni/bin), with one difference: upstream
 * folds DESTDIR into PREFIX (PREFIX ?= $(DESTDIR)/usr/local), so a staged install writes the staging
 * path into nothing but could; here DESTDIR is only ever prepended when writing files, and PREFIX is
 * the final location, which is what the systemd units and crio's conmon path are rewritten to.
 *
 * The file lists are written in by the bundle writer (no globs), so `make install` installs exactly
 * what the tarball holds.
 */

export interface BundleMakefileInput {
  binaries: string[];
  cniPlugins: string[];
  /** Files in etc/ other than crio.conf.d (crio.conf, crictl.yaml, crio-umount.conf). */
  etc: string[];
  dropIns: string[];
  cniConfigs: string[];
  units: string[];
  /** Alias name -> unit it points to. */
  unitAliases: Array<[string, string]>;
  manPages: Array<{ name: string; section: string }>;
  completions: Array<{ shell: 'bash' | 'fish' | 'zsh'; name: string }>;
}

function checkName(n: string): string {
  // Names go into make recipes and sh command lines unquoted.
  if (!/^[A-Za-z0-9_][A-Za-z0-9._+@-]*$/.test(n)) throw new Error(`bundle: file name ${JSON.stringify(n)} cannot go into the install Makefile`);
  return n;
}

const words = (list: string[]) => list.map(checkName).join(' ');

export function bundleMakefile(m: BundleMakefileInput): string {
  const lines: string[] = [];
  const rule = (name: string, deps: string[], cmds: string[]) => {
    lines.push(`.PHONY: ${name}`, `${name}:${deps.length ? ' ' + deps.join(' ') : ''}`, ...cmds.map((c) => `\t${c}`), '');
  };
  const mans = m.manPages.map((p) => ({ ...p, name: checkName(p.name) }));
  const sections = [...new Set(mans.map((p) => p.section))].sort();
  const comps = (shell: 'bash' | 'fish' | 'zsh') => m.completions.filter((c) => c.shell === shell).map((c) => checkName(c.name));
  const compDir = { bash: '$(BASHINSTALLDIR)', fish: '$(FISHINSTALLDIR)', zsh: '$(ZSHINSTALLDIR)' } as const;
  const has = (name: string) => m.binaries.includes(name);

  rule('install', ['install-cni', 'install-conmon', 'install-crio', 'install-crictl', 'install-pinns'], []);

  rule('install-cni', [], [
    ...(m.cniPlugins.length ? ['$(INSTALL) -d -m 755 $(DESTDIR)$(OPT_CNI_BIN_DIR)', `cd cni-plugins && $(INSTALL) -m 755 ${words(m.cniPlugins)} $(DESTDIR)$(OPT_CNI_BIN_DIR)/`] : []),
    ...(m.cniConfigs.length ? ['$(INSTALL) -d -m 755 $(DESTDIR)$(CNIDIR)', `cd contrib && $(INSTALL) -m 644 ${words(m.cniConfigs)} $(DESTDIR)$(CNIDIR)/`] : []),
  ]);
  rule('install-conmon', [], has('conmon') ? ['$(INSTALL) -D -m 755 bin/conmon $(DESTDIR)$(BINDIR)/conmon'] : []);
  rule('install-crictl', [], has('crictl') ? ['$(INSTALL) -D -m 755 bin/crictl $(DESTDIR)$(BINDIR)/crictl'] : []);
  rule('install-pinns', [], has('pinns') ? ['$(INSTALL) -D -m 755 bin/pinns $(DESTDIR)$(BINDIR)/pinns'] : []);

  const crioCmds: string[] = [];
  for (const b of ['crio', 'crio-status'].filter(has)) crioCmds.push(`$(INSTALL) -D -m 755 bin/${b} $(DESTDIR)$(BINDIR)/${b}`);
  for (const e of m.etc) {
    checkName(e);
    if (e === 'crictl.yaml') crioCmds.push('$(INSTALL) -D -m 644 etc/crictl.yaml $(DESTDIR)$(ETCDIR)/crictl.yaml');
    else if (e === 'crio-umount.conf') crioCmds.push('$(INSTALL) -D -m 644 etc/crio-umount.conf $(DESTDIR)$(OCIDIR)/crio-umount.conf');
    // crio.conf may name conmon in $(BINDIR) (branches without drop-ins): same rewrite as the units.
    else if (e === 'crio.conf') crioCmds.push('$(INSTALL) -d -m 755 $(DESTDIR)$(ETCDIR)/crio', "sed -e 's|/usr/local/bin/|$(BINDIR)/|g' etc/crio.conf > $(DESTDIR)$(ETCDIR)/crio/crio.conf", 'chmod 644 $(DESTDIR)$(ETCDIR)/crio/crio.conf');
    else crioCmds.push(`$(INSTALL) -D -m 644 etc/${e} $(DESTDIR)$(ETCDIR)/crio/${e}`);
  }
  if (m.dropIns.length) {
    crioCmds.push('$(INSTALL) -d -m 755 $(DESTDIR)$(ETCDIR)/crio/crio.conf.d');
    for (const d of m.dropIns.map(checkName)) {
      crioCmds.push(`sed -e 's|/usr/local/bin/|$(BINDIR)/|g' etc/crio.conf.d/${d} > $(DESTDIR)$(ETCDIR)/crio/crio.conf.d/${d}`, `chmod 644 $(DESTDIR)$(ETCDIR)/crio/crio.conf.d/${d}`);
    }
  }
  crioCmds.push('$(INSTALL) -d -m 755 $(DESTDIR)$(OCI_HOOKS_DIR)');
  if (m.units.length) {
    crioCmds.push('$(INSTALL) -d -m 755 $(DESTDIR)$(SYSTEMDDIR)');
    for (const u of m.units.map(checkName)) {
      crioCmds.push(`sed -e 's|/usr/local/bin/|$(BINDIR)/|g' contrib/${u} > $(DESTDIR)$(SYSTEMDDIR)/${u}`, `chmod 644 $(DESTDIR)$(SYSTEMDDIR)/${u}`);
    }
    for (const [alias, unit] of m.unitAliases) crioCmds.push(`ln -sf ${checkName(unit)} $(DESTDIR)$(SYSTEMDDIR)/${checkName(alias)}`);
  }
  for (const s of sections) {
    const names = mans.filter((p) => p.section === s).map((p) => p.name);
    crioCmds.push(`$(INSTALL) -d -m 755 $(DESTDIR)$(MANDIR)/man${s}`, `cd man && $(INSTALL) -m 644 ${names.join(' ')} $(DESTDIR)$(MANDIR)/man${s}/`);
  }
  for (const shell of ['bash', 'fish', 'zsh'] as const) {
    const names = comps(shell);
    if (names.length) crioCmds.push(`$(INSTALL) -d -m 755 $(DESTDIR)${compDir[shell]}`, `cd completions/${shell} && $(INSTALL) -m 644 ${names.join(' ')} $(DESTDIR)${compDir[shell]}/`);
  }
  rule('install-crio', [], crioCmds);

  const rm: string[] = [];
  for (const b of m.binaries) rm.push(`$(DESTDIR)$(BINDIR)/${checkName(b)}`);
  for (const p of m.cniPlugins) rm.push(`$(DESTDIR)$(OPT_CNI_BIN_DIR)/${checkName(p)}`);
  for (const c of m.cniConfigs) rm.push(`$(DESTDIR)$(CNIDIR)/${checkName(c)}`);
  for (const u of m.units) rm.push(`$(DESTDIR)$(SYSTEMDDIR)/${checkName(u)}`);
  for (const [alias] of m.unitAliases) rm.push(`$(DESTDIR)$(SYSTEMDDIR)/${checkName(alias)}`);
  for (const p of mans) rm.push(`$(DESTDIR)$(MANDIR)/man${p.section}/${p.name}`);
  for (const shell of ['bash', 'fish', 'zsh'] as const) for (const n of comps(shell)) rm.push(`$(DESTDIR)${compDir[shell]}/${n}`);
  for (const e of m.etc) {
    rm.push(e === 'crictl.yaml' ? '$(DESTDIR)$(ETCDIR)/crictl.yaml' : e === 'crio-umount.conf' ? '$(DESTDIR)$(OCIDIR)/crio-umount.conf' : `$(DESTDIR)$(ETCDIR)/crio/${e}`);
  }
  for (const d of m.dropIns) rm.push(`$(DESTDIR)$(ETCDIR)/crio/crio.conf.d/${d}`);
  rule('uninstall', [], rm.map((p) => `rm -f ${p}`));

  return `# Installs this cri-o bundle (made by crio-build, in the layout of cri-o's contrib/bundle).
#
#   make install                          to /usr/local (binaries), /etc, /opt/cni/bin
#   make install PREFIX=/usr              to /usr/bin, /usr/share/man, /usr/lib/systemd/system
#   make install DESTDIR=/tmp/stage       the same tree below /tmp/stage (for packaging)
#   make uninstall                        removes what install installed (same variables)
#
# PREFIX and the directories below are the final locations: they are written into the systemd
# units (ExecStart) and CRI-O's configuration (conmon path). DESTDIR is only prepended to where
# files are written.
DESTDIR ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
ETCDIR ?= /etc
CNIDIR ?= $(ETCDIR)/cni/net.d
OPT_CNI_BIN_DIR ?= /opt/cni/bin
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
OCIDIR ?= $(PREFIX)/share/oci-umount/oci-umount.d
OCI_HOOKS_DIR ?= /usr/share/containers/oci/hooks.d
BASHINSTALLDIR ?= $(PREFIX)/share/bash-completion/completions
FISHINSTALLDIR ?= $(PREFIX)/share/fish/vendor_completions.d
ZSHINSTALLDIR ?= $(PREFIX)/share/zsh/site-functions
INSTALL ?= install

.DEFAULT_GOAL := install

${lines.join('\n')}`;
}

export function bundleReadme(o: { arch: string; version: string; components: Array<{ name: string; version: string; commit: string }>; kubernetes: string }): string {
  return `# cri-o ${o.version} for ${o.arch} (crio-build bundle)

Everything needed to run CRI-O for Kubernetes ${o.kubernetes} except an OCI runtime
(install runc or crun from your distribution):

${o.components.map((c) => `- ${c.name} ${c.version} (commit ${c.commit})`).join('\n')}

Layout, as cri-o's own release bundle: bin/ (crio, crio-status, pinns, conmon, crictl),
etc/ (crio.conf as crio generated it, crio.conf.d drop-ins, crictl.yaml), contrib/ (systemd
units, CNI configurations), cni-plugins/, man/, completions/.

Install with \`make install\` (as root), or \`make install PREFIX=/usr\`, or into a staging
tree with \`make install DESTDIR=/tmp/stage\`. The systemd units and the conmon path in
etc/crio.conf.d are rewritten to the final BINDIR ($(PREFIX)/bin) while installing.
Then \`systemctl daemon-reload && systemctl enable --now crio\`.
`;
}
