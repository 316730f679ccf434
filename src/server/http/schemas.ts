/**
 * JSON schemas of the API's inputs. Every object schema is closed (additionalProperties: false) so an
 * unknown field is a 400, not silently dropped. The same schemas feed the OpenAPI document.
 */
import { VEX_JUSTIFICATIONS } from '../../store/index.js';

export const digestSchema = { type: 'string', pattern: '^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$', description: 'image manifest digest' } as const;
const repositorySchema = { type: 'string', minLength: 1, maxLength: 512, description: 'repository ("registry.example.com/team/app")' } as const;
const tagSchema = { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$' } as const;
const labelsSchema = { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, maxProperties: 256 } as const;
const idSchema = { type: 'string', minLength: 1, maxLength: 128 } as const;
const nameSchema = { type: 'string', minLength: 1, maxLength: 200 } as const;
const severitySchema = { type: 'string', enum: ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] } as const;

export const pageQuery = {
  after: { type: 'string', maxLength: 4096, description: 'cursor from the previous page (its `next`)' },
  limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'page size (default 100)' },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const;

export const digestParams = { type: 'object', required: ['digest'], additionalProperties: false, properties: { digest: digestSchema } } as const;
export const idParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: idSchema } } as const;
export const findingParams = {
  type: 'object',
  required: ['digest', 'vulnId'],
  additionalProperties: false,
  properties: { digest: digestSchema, vulnId: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' } },
} as const;

export const scanBody = {
  type: 'object',
  required: ['target'],
  additionalProperties: false,
  properties: {
    target: { type: 'string', minLength: 1, maxLength: 4096, description: 'a registry reference, or a path target (oci-dir:, oci-archive:, docker-archive:) under a root the server allows' },
    repository: repositorySchema,
    tags: { type: 'array', items: tagSchema, maxItems: 100 },
    labels: labelsSchema,
  },
} as const;

export const sbomQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { repository: repositorySchema, digest: digestSchema, tag: tagSchema },
} as const;

/** the wrapper form of POST /sboms: {repository, digest, tags?, labels?, sbom} */
export const sbomWrapper = {
  type: 'object',
  required: ['sbom'],
  additionalProperties: false,
  properties: { repository: repositorySchema, digest: digestSchema, tags: { type: 'array', items: tagSchema, maxItems: 100 }, labels: labelsSchema, sbom: { type: 'object' } },
} as const;

export const sbomBody = { type: 'object', description: 'a CycloneDX or SPDX JSON document, or {repository, digest, tags, labels, sbom}' } as const;

/** Dependency-Track's BomSubmitRequest (the fields its clients send) */
export const dtrackBomBody = {
  type: 'object',
  required: ['bom'],
  additionalProperties: false,
  properties: {
    project: { type: 'string', maxLength: 64 },
    projectName: { type: 'string', minLength: 1, maxLength: 512 },
    projectVersion: { type: 'string', maxLength: 512 },
    projectTags: { type: 'array', items: { type: 'object' }, maxItems: 100 },
    autoCreate: { type: 'boolean' },
    parentUUID: { type: 'string', maxLength: 64 },
    parentName: { type: 'string', maxLength: 512 },
    parentVersion: { type: 'string', maxLength: 512 },
    isLatestProjectVersion: { type: 'boolean' },
    bom: { type: 'string', minLength: 1, description: 'base64 of a CycloneDX JSON document' },
  },
} as const;

export const imagesQuery = { type: 'object', additionalProperties: false, properties: { repository: repositorySchema, ...pageQuery } } as const;

export const findingsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    states: { type: 'string', pattern: '^(new|unchanged|changed|resolved)(,(new|unchanged|changed|resolved))*$', description: 'comma-separated states (default: new,unchanged,changed)' },
  },
} as const;

export const packagesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 512 },
    version: { type: 'string', minLength: 1, maxLength: 512 },
    type: { type: 'string', minLength: 1, maxLength: 32 },
    namespace: { type: 'string', maxLength: 512 },
    purl: { type: 'string', minLength: 5, maxLength: 2048 },
    ...pageQuery,
  },
} as const;

export const triageBody = {
  type: 'object',
  required: ['state'],
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['affected', 'not_affected', 'false_positive', 'accepted'] },
    justification: { type: 'string', enum: [...VEX_JUSTIFICATIONS] },
    until: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 4000 },
  },
} as const;

export const pageOnlyQuery = { type: 'object', additionalProperties: false, properties: pageQuery } as const;

export const registryBody = {
  type: 'object',
  required: ['name', 'url', 'repositories'],
  additionalProperties: false,
  properties: {
    name: nameSchema,
    url: { type: 'string', minLength: 1, maxLength: 2048 },
    repositories: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 512 }, minItems: 1, maxItems: 1000 },
    pollIntervalSeconds: { type: 'integer', minimum: 0, maximum: 604800, default: 0 },
    credentialsRef: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export const ruleBody = {
  type: 'object',
  required: ['name', 'channel', 'target'],
  additionalProperties: false,
  properties: {
    name: nameSchema,
    channel: { type: 'string', enum: ['webhook', 'slack', 'email'] },
    target: { type: 'string', minLength: 1, maxLength: 2048 },
    secretRef: { type: 'string', minLength: 1, maxLength: 200 },
    toOwners: { type: 'boolean' },
    digest: { type: 'string', enum: ['hourly', 'daily'] },
    filter: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        minSeverity: severitySchema,
        kevOnly: { type: 'boolean' },
        fixAvailableOnly: { type: 'boolean' },
        repositories: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 512 }, maxItems: 1000 },
        events: { type: 'array', items: { type: 'string', enum: ['new', 'changed', 'resolved'] }, maxItems: 3, uniqueItems: true },
      },
    },
    enabled: { type: 'boolean', default: true },
  },
} as const;

export const tokenBody = {
  type: 'object',
  required: ['name', 'scope'],
  additionalProperties: false,
  properties: { name: nameSchema, scope: { type: 'string', enum: ['read', 'write', 'admin'] } },
} as const;
