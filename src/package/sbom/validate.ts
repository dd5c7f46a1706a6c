/**
 * validateSbom: is a document schema-valid SPDX 2.3 JSON (./schema.ts, checked with ajv), is it
 * consistent (identifiers unique and resolvable, licence expressions valid, checksums of the right
 * length, package verification codes matching the files listed), and does it describe the artifact
 * it sits beside (a DESCRIBES relationship to a package with that file name and SHA-256)?
 * `crio-build verify` calls it on every published SBOM.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import parseSpdxExpression from 'spdx-expression-parse';
import { SPDX_2_3_SCHEMA } from './schema.js';
import { verificationCode } from './spdx.js';

let compiled: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(SPDX_2_3_SCHEMA);
  return compiled;
}

const HEX_LENGTH: Record<string, number> = { SHA1: 40, SHA224: 56, SHA256: 64, SHA384: 96, SHA512: 128, 'SHA3-256': 64, 'SHA3-384': 96, 'SHA3-512': 128, 'BLAKE2b-256': 64, 'BLAKE2b-384': 96, 'BLAKE2b-512': 128, MD2: 32, MD4: 32, MD5: 32, ADLER32: 8 };

interface Checksum {
  algorithm: string;
  checksumValue: string;
}
interface Element {
  SPDXID: string;
  checksums?: Checksum[];
  licenseConcluded?: string;
  licenseDeclared?: string;
  licenseInfoFromFiles?: string[];
  licenseInfoInFiles?: string[];
}
interface Pkg extends Element {
  packageFileName?: string;
  filesAnalyzed?: boolean;
  hasFiles?: string[];
  packageVerificationCode?: { packageVerificationCodeValue: string };
}
interface Doc {
  packages?: Pkg[];
  files?: Element[];
  snippets?: Element[];
  externalDocumentRefs?: Array<{ externalDocumentId: string }>;
  relationships?: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
  creationInfo: { created: string };
  hasExtractedLicensingInfos?: Array<{ licenseId: string }>;
}

function schemaProblem(e: ErrorObject): string {
  const where = e.instancePath || '(document)';
  const allowed = e.keyword === 'enum' ? ` (allowed: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : e.keyword === 'additionalProperties' ? `: ${(e.params as { additionalProperty: string }).additionalProperty}` : '';
  return `${where}: ${e.message ?? e.keyword}${allowed}`;
}

function licenceProblem(where: string, expr: string, extracted: ReadonlySet<string>): string | undefined {
  if (expr === 'NONE' || expr === 'NOASSERTION') return undefined;
  try {
    const refs: string[] = [];
    const walk = (n: parseSpdxExpression.Info): void => {
      if ('license' in n) {
        if (n.license.startsWith('LicenseRef-')) refs.push(n.license);
      } else if ('left' in n) {
        walk(n.left);
        walk(n.right);
      }
    };
    walk(parseSpdxExpression(expr));
    const unknown = refs.filter((r) => !extracted.has(r));
    return unknown.length ? `${where}: ${unknown.join(', ')} is not defined in hasExtractedLicensingInfos` : undefined;
  } catch {
    return `${where}: "${expr}" is not an SPDX licence expression (SPDX 2.3 Annex D; NONE and NOASSERTION are allowed)`;
  }
}

/**
 * The problems of `doc` as the SBOM of `artifact` (empty: valid). `artifact.file` is the artifact's
 * file name, `artifact.sha256` its lower-case hex SHA-256.
 */
export function validateSbom(doc: unknown, artifact: { file: string; sha256: string }): string[] {
  const validate = schemaValidator();
  if (!validate(doc)) return (validate.errors ?? []).map(schemaProblem);
  const d = doc as Doc;
  const problems: string[] = [];

  if (Number.isNaN(Date.parse(d.creationInfo.created))) problems.push(`/creationInfo/created: "${d.creationInfo.created}" is not a date`);

  // Identifiers: unique, and every reference resolves.
  const elements = new Map<string, { kind: 'package' | 'file' | 'snippet'; el: Element }>();
  const add = (kind: 'package' | 'file' | 'snippet', list: Element[] | undefined) => {
    list?.forEach((el, i) => {
      if (el.SPDXID === 'SPDXRef-DOCUMENT' || elements.has(el.SPDXID)) problems.push(`/${kind}s/${i}/SPDXID: ${el.SPDXID} is used twice`);
      else elements.set(el.SPDXID, { kind, el });
    });
  };
  add('package', d.packages);
  add('file', d.files);
  add('snippet', d.snippets);
  const docRefs = new Set((d.externalDocumentRefs ?? []).map((r) => r.externalDocumentId));
  const known = (ref: string) => ref === 'SPDXRef-DOCUMENT' || elements.has(ref) || (ref.startsWith('DocumentRef-') && docRefs.has(ref.slice(0, ref.indexOf(':'))));
  (d.relationships ?? []).forEach((r, i) => {
    if (!known(r.spdxElementId)) problems.push(`/relationships/${i}/spdxElementId: ${r.spdxElementId} is not an element of this document`);
    if (r.relatedSpdxElement !== 'NONE' && r.relatedSpdxElement !== 'NOASSERTION' && !known(r.relatedSpdxElement)) {
      problems.push(`/relationships/${i}/relatedSpdxElement: ${r.relatedSpdxElement} is not an element of this document`);
    }
  });

  // Licence expressions and checksum lengths.
  const extracted = new Set((d.hasExtractedLicensingInfos ?? []).map((l) => l.licenseId));
  for (const [id, { kind, el }] of elements) {
    const where = `${kind} ${id}`;
    for (const field of ['licenseConcluded', 'licenseDeclared'] as const) {
      const v = el[field];
      const p = v === undefined ? undefined : licenceProblem(`${where} ${field}`, v, extracted);
      if (p) problems.push(p);
    }
    for (const v of [...(el.licenseInfoFromFiles ?? []), ...(el.licenseInfoInFiles ?? [])]) {
      const p = licenceProblem(`${where} licence info`, v, extracted);
      if (p) problems.push(p);
    }
    for (const c of el.checksums ?? []) {
      const len = HEX_LENGTH[c.algorithm];
      if (len !== undefined && c.checksumValue.length !== len) problems.push(`${where}: ${c.algorithm} checksum "${c.checksumValue}" is not ${len} hex digits`);
    }
  }

  // Packages whose files were analyzed: files listed exist, and the verification code matches them (7.9).
  for (const p of d.packages ?? []) {
    if (p.filesAnalyzed === false) continue;
    if (!p.packageVerificationCode) {
      problems.push(`package ${p.SPDXID}: files were analyzed but there is no packageVerificationCode`);
      continue;
    }
    const sha1s: string[] = [];
    for (const f of p.hasFiles ?? []) {
      const e = elements.get(f);
      const sha1 = e?.kind === 'file' ? e.el.checksums?.find((c) => c.algorithm === 'SHA1')?.checksumValue : undefined;
      if (sha1 === undefined) problems.push(`package ${p.SPDXID}: hasFiles names ${f}, which is not a file of this document`);
      else sha1s.push(sha1);
    }
    if (p.hasFiles && verificationCode(sha1s) !== p.packageVerificationCode.packageVerificationCodeValue) {
      problems.push(`package ${p.SPDXID}: packageVerificationCode ${p.packageVerificationCode.packageVerificationCodeValue} does not match its files (they give ${verificationCode(sha1s)})`);
    }
  }

  // It describes this artifact.
  const described = (d.relationships ?? []).filter((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES').map((r) => elements.get(r.relatedSpdxElement));
  const subject = described.find((e) => e?.kind === 'package' && (e.el as Pkg).packageFileName === artifact.file);
  if (described.length === 0) problems.push('the document DESCRIBES nothing');
  else if (!subject) problems.push(`the document does not describe ${artifact.file}: no package it DESCRIBES has that packageFileName`);
  else {
    const sha = subject.el.checksums?.find((c) => c.algorithm === 'SHA256')?.checksumValue;
    if (sha === undefined) problems.push(`the package describing ${artifact.file} has no SHA256 checksum`);
    else if (sha !== artifact.sha256) problems.push(`the document describes ${artifact.file} with sha256 ${sha}, but the artifact's sha256 is ${artifact.sha256}`);
  }
  return problems;
}
