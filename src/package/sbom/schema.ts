/**
 * A JSON Schema (draft-07) for SPDX 2.3 documents in JSON, written for crio-build from the SPDX
 * 2.3 specification (https://spdx.github.io/spdx-spec/v2.3/: clauses 6 document creation, 7
 * package, 8 file, 9 snippet, 10 other licensing, 11 relationships, 12 annotations, Annex D
 * license expressions) and following the structure of the schema SPDX publishes for 2.3
 * (spdx/spdx-spec, schemas/spdx-schema-2-3.json): the same objects, property names, required
 * properties, enumerations, and no properties beyond those.
 *
 * Where the specification is stricter than that published schema, this one says so too: the
 * spdxVersion, dataLicense and document SPDXID values (6.1-6.3), a documentNamespace without "#"
 * (6.5), the UTC timestamp form (6.9), creator and supplier prefixes (6.8, 7.5), SPDXRef-
 * identifiers (3.2), lower-case hex checksums, a SHA1 checksum on every file (8.4), and no files or
 * verification code on a package whose files were not analyzed (7.8). No npm package distributes
 * the SPDX 2.3 document schema, hence this file.
 */

const CHECKSUM_ALGORITHMS = ['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'SHA3-256', 'SHA3-384', 'SHA3-512', 'BLAKE2b-256', 'BLAKE2b-384', 'BLAKE2b-512', 'BLAKE3', 'MD2', 'MD4', 'MD5', 'MD6', 'ADLER32'];

export const RELATIONSHIP_TYPES = [
  'DESCRIBES', 'DESCRIBED_BY', 'CONTAINS', 'CONTAINED_BY', 'DEPENDS_ON', 'DEPENDENCY_OF', 'DEPENDENCY_MANIFEST_OF',
  'BUILD_DEPENDENCY_OF', 'DEV_DEPENDENCY_OF', 'OPTIONAL_DEPENDENCY_OF', 'PROVIDED_DEPENDENCY_OF', 'TEST_DEPENDENCY_OF',
  'RUNTIME_DEPENDENCY_OF', 'EXAMPLE_OF', 'GENERATES', 'GENERATED_FROM', 'ANCESTOR_OF', 'DESCENDANT_OF', 'VARIANT_OF',
  'DISTRIBUTION_ARTIFACT', 'PATCH_FOR', 'PATCH_APPLIED', 'COPY_OF', 'FILE_ADDED', 'FILE_DELETED', 'FILE_MODIFIED',
  'EXPANDED_FROM_ARCHIVE', 'DYNAMIC_LINK', 'STATIC_LINK', 'DATA_FILE_OF', 'TEST_CASE_OF', 'BUILD_TOOL_OF', 'DEV_TOOL_OF',
  'TEST_OF', 'TEST_TOOL_OF', 'DOCUMENTATION_OF', 'OPTIONAL_COMPONENT_OF', 'METAFILE_OF', 'PACKAGE_OF', 'AMENDS',
  'PREREQUISITE_FOR', 'HAS_PREREQUISITE', 'REQUIREMENT_DESCRIPTION_FOR', 'SPECIFICATION_FOR', 'OTHER',
] as const;

const PURPOSES = ['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING_SYSTEM', 'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER'];
const FILE_TYPES = ['SOURCE', 'BINARY', 'ARCHIVE', 'APPLICATION', 'AUDIO', 'IMAGE', 'TEXT', 'VIDEO', 'DOCUMENTATION', 'SPDX', 'OTHER'];

const text = { type: 'string' } as const;
const texts = { type: 'array', items: text } as const;
const spdxId = { type: 'string', pattern: '^SPDXRef-[A-Za-z0-9.-]+$' } as const;
/** An element reference: an SPDXRef- of this document, or DocumentRef-x:SPDXRef-y of another. */
const elementRef = { type: 'string', pattern: '^(DocumentRef-[A-Za-z0-9.+-]+:)?SPDXRef-[A-Za-z0-9.-]+$' } as const;
const utcTime = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$' } as const;
const agent = { type: 'string', pattern: '^(NOASSERTION|(Person|Organization): .+)$' } as const;

const checksum = {
  type: 'object',
  properties: { algorithm: { enum: CHECKSUM_ALGORITHMS }, checksumValue: { type: 'string', pattern: '^[0-9a-f]+$' } },
  required: ['algorithm', 'checksumValue'],
  additionalProperties: false,
} as const;

const annotation = {
  type: 'object',
  properties: { annotationDate: utcTime, annotationType: { enum: ['REVIEW', 'OTHER'] }, annotator: { type: 'string', pattern: '^(Person|Organization|Tool): .+$' }, comment: text },
  required: ['annotationDate', 'annotationType', 'annotator', 'comment'],
  additionalProperties: false,
} as const;

/** Properties every SPDX item (package, file, snippet) may carry (clauses 7-9). */
const itemProperties = {
  SPDXID: spdxId,
  annotations: { type: 'array', items: annotation },
  attributionTexts: texts,
  comment: text,
  copyrightText: text,
  licenseComments: text,
  licenseConcluded: text,
} as const;

const externalRef = {
  type: 'object',
  properties: {
    referenceCategory: { enum: ['SECURITY', 'PACKAGE-MANAGER', 'PERSISTENT-ID', 'OTHER'] },
    referenceType: { type: 'string', minLength: 1 },
    referenceLocator: { type: 'string', pattern: '^\\S+$' },
    comment: text,
  },
  required: ['referenceCategory', 'referenceType', 'referenceLocator'],
  additionalProperties: false,
} as const;

const spdxPackage = {
  type: 'object',
  properties: {
    ...itemProperties,
    name: { type: 'string', minLength: 1 },
    versionInfo: text,
    packageFileName: text,
    supplier: agent,
    originator: agent,
    downloadLocation: { type: 'string', pattern: '^(NONE|NOASSERTION|[A-Za-z][A-Za-z0-9+.-]*:\\S+)$' },
    filesAnalyzed: { type: 'boolean' },
    packageVerificationCode: {
      type: 'object',
      properties: { packageVerificationCodeValue: { type: 'string', pattern: '^[0-9a-f]{40}$' }, packageVerificationCodeExcludedFiles: texts },
      required: ['packageVerificationCodeValue'],
      additionalProperties: false,
    },
    checksums: { type: 'array', items: checksum },
    homepage: text,
    sourceInfo: text,
    licenseInfoFromFiles: texts,
    licenseDeclared: text,
    summary: text,
    description: text,
    externalRefs: { type: 'array', items: externalRef },
    hasFiles: { type: 'array', items: spdxId },
    primaryPackagePurpose: { enum: PURPOSES },
    releaseDate: utcTime,
    builtDate: utcTime,
    validUntilDate: utcTime,
  },
  required: ['SPDXID', 'name', 'downloadLocation'],
  additionalProperties: false,
  // 7.8: a package whose files were not analyzed lists no files and has no verification code.
  if: { properties: { filesAnalyzed: { const: false } }, required: ['filesAnalyzed'] },
  then: { properties: { hasFiles: false, packageVerificationCode: false } },
} as const;

const spdxFile = {
  type: 'object',
  properties: {
    ...itemProperties,
    fileName: { type: 'string', minLength: 1 },
    fileTypes: { type: 'array', items: { enum: FILE_TYPES } },
    // 8.4: the SHA1 checksum is mandatory, others may follow.
    checksums: { type: 'array', minItems: 1, items: checksum, contains: { type: 'object', properties: { algorithm: { const: 'SHA1' } } } },
    licenseInfoInFiles: texts,
    noticeText: text,
    fileContributors: texts,
  },
  required: ['SPDXID', 'fileName', 'checksums'],
  additionalProperties: false,
} as const;

const pointer = {
  type: 'object',
  properties: { reference: elementRef, offset: { type: 'integer', minimum: 1 }, lineNumber: { type: 'integer', minimum: 1 } },
  required: ['reference'],
  additionalProperties: false,
} as const;

const snippet = {
  type: 'object',
  properties: {
    ...itemProperties,
    name: text,
    snippetFromFile: elementRef,
    ranges: { type: 'array', minItems: 1, items: { type: 'object', properties: { startPointer: pointer, endPointer: pointer }, required: ['startPointer', 'endPointer'], additionalProperties: false } },
    licenseInfoInSnippets: texts,
  },
  required: ['SPDXID', 'snippetFromFile', 'ranges'],
  additionalProperties: false,
} as const;

const relationship = {
  type: 'object',
  properties: {
    spdxElementId: elementRef,
    relatedSpdxElement: { anyOf: [elementRef, { enum: ['NONE', 'NOASSERTION'] }] },
    relationshipType: { enum: RELATIONSHIP_TYPES },
    comment: text,
  },
  required: ['spdxElementId', 'relatedSpdxElement', 'relationshipType'],
  additionalProperties: false,
} as const;

export const SPDX_2_3_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:crio-build:schema:spdx-2.3',
  title: 'SPDX 2.3 document (JSON)',
  type: 'object',
  properties: {
    spdxVersion: { const: 'SPDX-2.3' },
    dataLicense: { const: 'CC0-1.0' },
    SPDXID: { const: 'SPDXRef-DOCUMENT' },
    name: { type: 'string', minLength: 1 },
    documentNamespace: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9+.-]*://[^#\\s]+$' },
    externalDocumentRefs: {
      type: 'array',
      items: {
        type: 'object',
        properties: { externalDocumentId: { type: 'string', pattern: '^DocumentRef-[A-Za-z0-9.+-]+$' }, spdxDocument: text, checksum },
        required: ['externalDocumentId', 'spdxDocument', 'checksum'],
        additionalProperties: false,
      },
    },
    creationInfo: {
      type: 'object',
      properties: {
        created: utcTime,
        creators: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(Person|Organization|Tool): .+$' } },
        licenseListVersion: { type: 'string', pattern: '^\\d+\\.\\d+$' },
        comment: text,
      },
      required: ['created', 'creators'],
      additionalProperties: false,
    },
    comment: text,
    documentDescribes: { type: 'array', items: elementRef },
    packages: { type: 'array', items: spdxPackage },
    files: { type: 'array', items: spdxFile },
    snippets: { type: 'array', items: snippet },
    hasExtractedLicensingInfos: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          licenseId: { type: 'string', pattern: '^LicenseRef-[A-Za-z0-9.-]+$' },
          extractedText: text,
          name: text,
          comment: text,
          seeAlsos: texts,
          crossRefs: { type: 'array', items: { type: 'object' } },
        },
        required: ['licenseId', 'extractedText'],
        additionalProperties: false,
      },
    },
    relationships: { type: 'array', items: relationship },
    annotations: { type: 'array', items: annotation },
    revieweds: { type: 'array', items: { type: 'object', properties: { reviewDate: utcTime, reviewer: text, comment: text }, required: ['reviewDate'], additionalProperties: false } },
  },
  required: ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo'],
  additionalProperties: false,
} as const;
