/**
 * The images the acceptance run pushes to its own registry, made here with crio-build's own tar
 * writer (src/package/deb/tar.ts): an OCI image layout (image-spec v1.0: oci-layout, index.json,
 * blobs/sha256) holding, per image, an image index with one manifest per architecture, like the
 * multi-arch manifest lists of registry.k8s.io/pause. skopeo copies it to the registry
 * (`skopeo copy --all oci:DIR:REF docker://...`).
 *
 * The root file systems are Debian's busybox-static (one static binary) plus a few files:
 *   pause:    /pause, a shell loop that sleeps until SIGTERM (what the pause container must do);
 *   busybox:  an httpd on port 8080 serving /www/index.html, after printing a line to stdout.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { addEntry, createPack, packOutput } from '../src/package/deb/tar.js';

export type ImageArch = 'amd64' | 'arm64';

export interface RootFile {
  /** Path inside the image, without the leading slash: "bin/busybox". */
  path: string;
  content?: Buffer;
  symlink?: string;
  mode?: number;
}

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
}

export interface ImageSpec {
  /** The reference name in the layout (org.opencontainers.image.ref.name): "pause-3.2". */
  ref: string;
  perArch: Partial<Record<ImageArch, { files: RootFile[]; config: ImageConfig }>>;
}

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A fixed time for every file and the image's created field: the same inputs give the same digests. */
const EPOCH = 1577836800; // 2020-01-01T00:00:00Z

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The layer tar: parent directories first, entries sorted by name (our tar writer, root:root, fixed mtime). */
export async function layerTar(files: readonly RootFile[]): Promise<Buffer> {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries = [...[...dirs].map((d) => ({ path: `${d}/`, dir: true as const })), ...files.map((f) => ({ ...f, dir: false as const }))].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  const pack = createPack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of packOutput(pack)) chunks.push(c);
  })();
  for (const e of entries) {
    if (e.dir) await addEntry(pack, { name: e.path, type: 'directory', mode: 0o755, mtime: EPOCH });
    else if (e.symlink !== undefined) await addEntry(pack, { name: e.path, type: 'symlink', mode: 0o777, mtime: EPOCH, linkname: e.symlink });
    else await addEntry(pack, { name: e.path, type: 'file', mode: e.mode ?? 0o644, mtime: EPOCH }, e.content ?? Buffer.alloc(0));
  }
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}

/** Writes the layout under `dir`; returns the layout's reference names. */
export async function writeOciLayout(dir: string, images: readonly ImageSpec[]): Promise<string[]> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): Promise<Descriptor> => {
    const hex = sha256(data);
    await writeFile(join(blobs, hex), data);
    return { mediaType, digest: `sha256:${hex}`, size: data.length, ...extra };
  };
  const top: Descriptor[] = [];
  for (const image of images) {
    const manifests: Descriptor[] = [];
    for (const [arch, spec] of Object.entries(image.perArch) as Array<[ImageArch, { files: RootFile[]; config: ImageConfig }]>) {
      const tar = await layerTar(spec.files);
      const layer = await put(gzipSync(tar, { level: 9 }), MEDIA.layer);
      const config = {
        created: new Date(EPOCH * 1000).toISOString(),
        architecture: arch,
        os: 'linux',
        ...(arch === 'arm64' ? { variant: 'v8' } : {}),
        config: spec.config,
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        history: [{ created: new Date(EPOCH * 1000).toISOString(), created_by: 'crio-build acceptance (acceptance/oci.ts)' }],
      };
      const cfg = await put(Buffer.from(JSON.stringify(config)), MEDIA.config);
      const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: cfg, layers: [layer] };
      manifests.push(
        await put(Buffer.from(JSON.stringify(manifest)), MEDIA.manifest, {
          platform: { architecture: arch, os: 'linux', ...(arch === 'arm64' ? { variant: 'v8' } : {}) },
        }),
      );
    }
    const index = { schemaVersion: 2, mediaType: MEDIA.index, manifests };
    top.push(await put(Buffer.from(JSON.stringify(index)), MEDIA.index, { annotations: { 'org.opencontainers.image.ref.name': image.ref } }));
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: top }));
  return images.map((i) => i.ref);
}

/** The applets the images link to busybox. */
const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'httpd', 'hostname', 'ls', 'ps', 'wget', 'id', 'ip'];

function busyboxRoot(busybox: Buffer): RootFile[] {
  return [{ path: 'bin/busybox', content: busybox, mode: 0o755 }, ...APPLETS.map((a) => ({ path: `bin/${a}`, symlink: 'busybox' }))];
}

export const PAUSE_SCRIPT = `#!/bin/sh
# The acceptance run's pause: keep the pod's namespaces, exit on SIGTERM or SIGINT.
trap 'exit 0' TERM INT
while :; do
	sleep 3600 &
	wait $!
done
`;

export const HTTP_PORT = 8080;
export const LOG_LINE = 'acceptance: the container started';
export const INDEX_HTML = 'hello from the acceptance pod\n';

export function pauseImage(ref: string, busybox: Partial<Record<ImageArch, Buffer>>): ImageSpec {
  const perArch: ImageSpec['perArch'] = {};
  for (const [arch, bin] of Object.entries(busybox) as Array<[ImageArch, Buffer]>) {
    perArch[arch] = { files: [...busyboxRoot(bin), { path: 'pause', content: Buffer.from(PAUSE_SCRIPT), mode: 0o755 }], config: { Entrypoint: ['/pause'], Env: ['PATH=/bin'] } };
  }
  return { ref, perArch };
}

export function busyboxImage(ref: string, busybox: Partial<Record<ImageArch, Buffer>>): ImageSpec {
  const perArch: ImageSpec['perArch'] = {};
  for (const [arch, bin] of Object.entries(busybox) as Array<[ImageArch, Buffer]>) {
    perArch[arch] = {
      files: [...busyboxRoot(bin), { path: 'www/index.html', content: Buffer.from(INDEX_HTML) }, { path: 'etc/hostname', content: Buffer.from('acceptance\n') }],
      config: {
        Cmd: ['/bin/sh', '-c', `echo '${LOG_LINE}'; exec httpd -f -v -p ${HTTP_PORT} -h /www`],
        Env: ['PATH=/bin'],
        ExposedPorts: { [`${HTTP_PORT}/tcp`]: {} },
      },
    };
  }
  return { ref, perArch };
}
