/**
 * VEX documents: OpenVEX (v0.2.0 and the unversioned 0.0.x context), CycloneDX VEX (a BOM whose
 * vulnerabilities carry analysis.state) and CSAF 2.0 VEX (document.category "csaf_vex"). Each is
 * normalised into statements: vulnerability ids, products (each with optional subcomponents), a
 * status, and the justification, impact statement and time that go with it.
 *
 * Specs: https://github.com/openvex/spec (OPENVEX-SPEC.md), https://cyclonedx.org/docs/1.6/json/#vulnerabilities,
 * https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html (3.2.3 product_status, 3.2.3.5 flags, 4.5 VEX profile).
 */
import { readFileSync } from 'node:fs';
import { DrydockError } from '../../core/errors.js';
import { parsePurl, type ProductRef } from './purl.js';

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';
export type VexFormat = 'openvex' | 'cyclonedx' | 'csaf';

/** A product a statement speaks of; a statement about a product with subcomponents speaks of those inside it. */
export interface VexProduct {
  product: ProductRef;
  subcomponents: ProductRef[];
}

export interface VexStatement {
  /** the vulnerability id as the document names it first */
  vulnerability: string;
  /** that id and every alias, upper-cased for comparison */
  ids: string[];
  products: VexProduct[];
  status: VexStatus;
  /** machine-readable justification as written (OpenVEX justification, CycloneDX analysis.justification, CSAF flag label) */
  justification?: string;
  /** why the product is not affected, in words */
  impactStatement?: string;
  /** what to do about it, for affected */
  actionStatement?: string;
  /** the statement's time as written (RFC 3339), inherited from the document when the statement has none */
  timestamp?: string;
  /** the statement's time in ms since the epoch; undefined when unknown */
  time?: number;
}

export interface VexDocument {
  file: string;
  format: VexFormat;
  /** the document's own id (@id, serialNumber, tracking.id) */
  id?: string;
  timestamp?: string;
  statements: VexStatement[];
}

const STATUSES: readonly VexStatus[] = ['not_affected', 'affected', 'fixed', 'under_investigation'];

type Json = Record<string, unknown>;

/** Names the file and the JSON path in errors; every error is VEX_INVALID. */
class Ctx {
  constructor(
    readonly file: string,
    readonly format: string,
  ) {}

  fail(path: string, why: string): never {
    throw new DrydockError('VEX_INVALID', `invalid ${this.format} vex document ${this.file} at ${path}: ${why}`, {
      details: { path: this.file, jsonPath: path },
    });
  }

  obj(v: unknown, path: string): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'expected an object');
    return v as Json;
  }

  arr(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, 'expected an array');
    return v;
  }

  str(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }

  need(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (!s) this.fail(path, 'missing');
    return s;
  }
}

function timeOf(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function uniqueUpper(ids: (string | undefined)[]): string[] {
  return [...new Set(ids.filter((s): s is string => !!s).map((s) => s.toUpperCase()))];
}

function productFromString(id: string): ProductRef {
  const p: ProductRef = { id };
  const purl = parsePurl(id);
  if (purl) p.purl = purl;
  return p;
}

/** Reads and parses a VEX document; throws IO_ERROR or VEX_INVALID. */
export function loadVex(path: string): VexDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read vex document ${path}`, { cause: e });
  }
  return parseVex(text, path);
}

/** Parses the text of a VEX document; `file` names it in errors and suppressions. */
export function parseVex(text: string, file: string): VexDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new DrydockError('VEX_INVALID', `vex document ${file} is not JSON`, { cause: e, details: { path: file } });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DrydockError('VEX_INVALID', `vex document ${file} is not a JSON object`, { details: { path: file } });
  }
  const o = doc as Json;
  const context = o['@context'];
  if (typeof context === 'string' && context.startsWith('https://openvex.dev/ns')) return parseOpenVex(o, file);
  if (o.bomFormat === 'CycloneDX') return parseCycloneDx(o, file);
  const category = (o.document as Json | undefined)?.category;
  if (typeof category === 'string') {
    if (category === 'csaf_vex') return parseCsaf(o, file);
    throw new DrydockError('VEX_INVALID', `vex document ${file} is a csaf document of category ${JSON.stringify(category)}, not csaf_vex`, {
      details: { path: file },
    });
  }
  throw new DrydockError('VEX_INVALID', `vex document ${file} is in no known format (openvex, cyclonedx vex, csaf vex)`, {
    details: { path: file },
  });
}

// ---------------------------------------------------------------- OpenVEX

function openVexProduct(c: Ctx, v: unknown, path: string): ProductRef {
  if (typeof v === 'string') return productFromString(v);
  const o = c.obj(v, path);
  const ids = o.identifiers === undefined ? {} : c.obj(o.identifiers, `${path}.identifiers`);
  const atId = c.str(o['@id'], `${path}.@id`);
  const purlText = c.str(ids.purl, `${path}.identifiers.purl`);
  const id = atId ?? purlText ?? c.str(ids.cpe23, `${path}.identifiers.cpe23`) ?? c.str(ids.cpe22, `${path}.identifiers.cpe22`);
  if (!id) c.fail(path, 'a product needs an @id or identifiers');
  const p: ProductRef = { id };
  const purl = parsePurl(purlText ?? atId ?? '');
  if (purl) p.purl = purl;
  if (o.hashes !== undefined) {
    const h = c.obj(o.hashes, `${path}.hashes`);
    const digests: string[] = [];
    for (const [alg, value] of [['sha-256', 'sha256'], ['sha-512', 'sha512']] as const) {
      const hex = c.str(h[alg], `${path}.hashes.${alg}`);
      if (hex) digests.push(`${value}:${hex.toLowerCase()}`);
    }
    if (digests.length > 0) p.digests = digests;
  }
  return p;
}

function parseOpenVex(o: Json, file: string): VexDocument {
  const c: Ctx = new Ctx(file, 'openvex');
  const docTime = c.str(o.last_updated, 'last_updated') ?? c.str(o.timestamp, 'timestamp');
  const list = o.statements;
  if (!Array.isArray(list)) c.fail('statements', 'expected an array');
  const statements = list.map((raw, i): VexStatement => {
    const at = `statements[${i}]`;
    const s = c.obj(raw, at);
    // v0.2.0: an object with name and aliases; 0.0.x: the id as a string
    let vulnerability: string;
    let aliases: string[] = [];
    if (typeof s.vulnerability === 'string') {
      vulnerability = s.vulnerability;
    } else {
      const v = c.obj(s.vulnerability, `${at}.vulnerability`);
      vulnerability = c.need(v.name, `${at}.vulnerability.name`);
      aliases = c.arr(v.aliases, `${at}.vulnerability.aliases`).map((a, j) => c.need(a, `${at}.vulnerability.aliases[${j}]`));
    }
    if (!vulnerability) c.fail(`${at}.vulnerability`, 'missing');
    const status = c.need(s.status, `${at}.status`);
    if (!STATUSES.includes(status as VexStatus)) c.fail(`${at}.status`, `unknown status ${JSON.stringify(status)}`);
    // 0.0.x puts subcomponents on the statement; they then belong to every product
    const shared = c.arr(s.subcomponents, `${at}.subcomponents`).map((x, j) => openVexProduct(c, x, `${at}.subcomponents[${j}]`));
    const products = c.arr(s.products, `${at}.products`).map((x, j): VexProduct => {
      const product = openVexProduct(c, x, `${at}.products[${j}]`);
      const own =
        typeof x === 'object' && x !== null
          ? c.arr((x as Json).subcomponents, `${at}.products[${j}].subcomponents`).map((y, k) =>
              openVexProduct(c, y, `${at}.products[${j}].subcomponents[${k}]`),
            )
          : [];
      return { product, subcomponents: [...own, ...shared] };
    });
    const timestamp = c.str(s.last_updated, `${at}.last_updated`) ?? c.str(s.timestamp, `${at}.timestamp`) ?? docTime;
    const st: VexStatement = { vulnerability, ids: uniqueUpper([vulnerability, ...aliases]), products, status: status as VexStatus };
    const justification = c.str(s.justification, `${at}.justification`);
    if (justification) st.justification = justification;
    const impact = c.str(s.impact_statement, `${at}.impact_statement`);
    if (impact) st.impactStatement = impact;
    const action = c.str(s.action_statement, `${at}.action_statement`);
    if (action) st.actionStatement = action;
    if (timestamp) st.timestamp = timestamp;
    const t = timeOf(timestamp);
    if (t !== undefined) st.time = t;
    return st;
  });
  const out: VexDocument = { file, format: 'openvex', statements };
  const id = c.str(o['@id'], '@id');
  if (id) out.id = id;
  if (docTime) out.timestamp = docTime;
  return out;
}

// ---------------------------------------------------------------- CycloneDX VEX

/** analysis.state → VEX status (the CycloneDX guide's mapping; false_positive means not affected). */
const CDX_STATE: Record<string, VexStatus> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
};

function parseCycloneDx(o: Json, file: string): VexDocument {
  const c: Ctx = new Ctx(file, 'cyclonedx');
  // bom-ref → purl of every component of this BOM, the described one (metadata.component) included
  const refs = new Map<string, string | undefined>();
  const walk = (list: unknown, path: string): void => {
    c.arr(list, path).forEach((raw, i) => {
      const comp = c.obj(raw, `${path}[${i}]`);
      const ref = c.str(comp['bom-ref'], `${path}[${i}].bom-ref`);
      if (ref) refs.set(ref, c.str(comp.purl, `${path}[${i}].purl`));
      walk(comp.components, `${path}[${i}].components`);
    });
  };
  const metadata = o.metadata === undefined ? {} : c.obj(o.metadata, 'metadata');
  if (metadata.component !== undefined) walk([metadata.component], 'metadata.component');
  walk(o.components, 'components');
  const docTime = c.str(metadata.timestamp, 'metadata.timestamp');
  const vulns = o.vulnerabilities;
  if (!Array.isArray(vulns)) c.fail('vulnerabilities', 'a cyclonedx vex document needs a vulnerabilities array');

  const resolveRef = (ref: string): ProductRef => {
    let key = ref;
    // bom-link to another BOM: urn:cdx:<serial>/<version>#<bom-ref>; tools commonly use the purl as bom-ref
    const link = /^urn:cdx:[^#]+#(.+)$/.exec(ref);
    if (link) {
      try {
        key = decodeURIComponent(link[1]!);
      } catch {
        key = link[1]!;
      }
    }
    const purlText = refs.get(key) ?? (key.startsWith('pkg:') ? key : undefined);
    const p: ProductRef = { id: ref };
    const purl = purlText ? parsePurl(purlText) : undefined;
    if (purl) p.purl = purl;
    return p;
  };

  const statements: VexStatement[] = [];
  vulns.forEach((raw, i) => {
    const at = `vulnerabilities[${i}]`;
    const v = c.obj(raw, at);
    const id = c.need(v.id, `${at}.id`);
    if (v.analysis === undefined) return; // a vulnerability without analysis is a report, not a VEX statement
    const analysis = c.obj(v.analysis, `${at}.analysis`);
    const state = c.str(analysis.state, `${at}.analysis.state`);
    if (state === undefined) return;
    const status = CDX_STATE[state];
    if (!status) c.fail(`${at}.analysis.state`, `unknown state ${JSON.stringify(state)}`);
    const aliases = c.arr(v.references, `${at}.references`).map((r, j) => c.str(c.obj(r, `${at}.references[${j}]`).id, `${at}.references[${j}].id`));
    const products = c.arr(v.affects, `${at}.affects`).map((a, j): VexProduct => ({
      product: resolveRef(c.need(c.obj(a, `${at}.affects[${j}]`).ref, `${at}.affects[${j}].ref`)),
      subcomponents: [],
    }));
    const st: VexStatement = { vulnerability: id, ids: uniqueUpper([id, ...aliases]), products, status };
    const justification = c.str(analysis.justification, `${at}.analysis.justification`) ?? (state === 'false_positive' ? 'false_positive' : undefined);
    if (justification) st.justification = justification;
    const detail = c.str(analysis.detail, `${at}.analysis.detail`);
    if (detail) st.impactStatement = detail;
    const response = c.arr(analysis.response, `${at}.analysis.response`).map((r, j) => c.need(r, `${at}.analysis.response[${j}]`));
    if (response.length > 0) st.actionStatement = response.join(', ');
    const timestamp =
      c.str(analysis.lastUpdated, `${at}.analysis.lastUpdated`) ??
      c.str(analysis.firstIssued, `${at}.analysis.firstIssued`) ??
      c.str(v.updated, `${at}.updated`) ??
      c.str(v.published, `${at}.published`) ??
      docTime;
    if (timestamp) st.timestamp = timestamp;
    const t = timeOf(timestamp);
    if (t !== undefined) st.time = t;
    statements.push(st);
  });
  const out: VexDocument = { file, format: 'cyclonedx', statements };
  const serial = c.str(o.serialNumber, 'serialNumber');
  if (serial) out.id = serial;
  if (docTime) out.timestamp = docTime;
  return out;
}

// ---------------------------------------------------------------- CSAF 2.0 VEX

/** product_status lists → VEX status (CSAF 2.0 section 3.2.3.9). */
const CSAF_STATUS: [string, VexStatus][] = [
  ['known_not_affected', 'not_affected'],
  ['fixed', 'fixed'],
  ['first_fixed', 'fixed'],
  ['known_affected', 'affected'],
  ['first_affected', 'affected'],
  ['last_affected', 'affected'],
  ['under_investigation', 'under_investigation'],
];

function parseCsaf(o: Json, file: string): VexDocument {
  const c: Ctx = new Ctx(file, 'csaf');
  const document = c.obj(o.document, 'document');
  const tracking = document.tracking === undefined ? {} : c.obj(document.tracking, 'document.tracking');
  const docTime = c.str(tracking.current_release_date, 'document.tracking.current_release_date');
  const tree = o.product_tree === undefined ? {} : c.obj(o.product_tree, 'product_tree');

  // product_id → what it is; relationships make a product "component X inside product Y"
  const plain = new Map<string, ProductRef>();
  const addFull = (raw: unknown, path: string): void => {
    const fpn = c.obj(raw, path);
    const pid = c.need(fpn.product_id, `${path}.product_id`);
    const name = c.str(fpn.name, `${path}.name`);
    const helper = fpn.product_identification_helper === undefined ? {} : c.obj(fpn.product_identification_helper, `${path}.product_identification_helper`);
    const purlText = c.str(helper.purl, `${path}.product_identification_helper.purl`);
    const p: ProductRef = { id: name ?? pid };
    const purl = purlText ? parsePurl(purlText) : undefined;
    if (purl) p.purl = purl;
    const hashes = c.arr(helper.hashes, `${path}.product_identification_helper.hashes`);
    const digests: string[] = [];
    hashes.forEach((h, i) => {
      const fh = c.arr(c.obj(h, `${path}.product_identification_helper.hashes[${i}]`).file_hashes, `${path}.product_identification_helper.hashes[${i}].file_hashes`);
      for (const x of fh) {
        const xo = x as Json;
        if ((xo.algorithm === 'sha256' || xo.algorithm === 'sha512') && typeof xo.value === 'string') digests.push(`${xo.algorithm}:${xo.value.toLowerCase()}`);
      }
    });
    if (digests.length > 0) p.digests = digests;
    plain.set(pid, p);
  };
  c.arr(tree.full_product_names, 'product_tree.full_product_names').forEach((f, i) => addFull(f, `product_tree.full_product_names[${i}]`));
  const walkBranches = (list: unknown, path: string): void => {
    c.arr(list, path).forEach((raw, i) => {
      const b = c.obj(raw, `${path}[${i}]`);
      if (b.product !== undefined) addFull(b.product, `${path}[${i}].product`);
      walkBranches(b.branches, `${path}[${i}].branches`);
    });
  };
  walkBranches(tree.branches, 'product_tree.branches');
  const combined = new Map<string, { component: string; product: string }>();
  c.arr(tree.relationships, 'product_tree.relationships').forEach((raw, i) => {
    const at = `product_tree.relationships[${i}]`;
    const r = c.obj(raw, at);
    const fpn = c.obj(r.full_product_name, `${at}.full_product_name`);
    combined.set(c.need(fpn.product_id, `${at}.full_product_name.product_id`), {
      component: c.need(r.product_reference, `${at}.product_reference`),
      product: c.need(r.relates_to_product_reference, `${at}.relates_to_product_reference`),
    });
  });
  const groups = new Map<string, string[]>();
  c.arr(tree.product_groups, 'product_tree.product_groups').forEach((raw, i) => {
    const g = c.obj(raw, `product_tree.product_groups[${i}]`);
    groups.set(
      c.need(g.group_id, `product_tree.product_groups[${i}].group_id`),
      c.arr(g.product_ids, `product_tree.product_groups[${i}].product_ids`).map((p, j) => c.need(p, `product_tree.product_groups[${i}].product_ids[${j}]`)),
    );
  });
  const productOf = (pid: string): VexProduct => {
    const rel = combined.get(pid);
    if (rel) return { product: plain.get(rel.product) ?? { id: rel.product }, subcomponents: [plain.get(rel.component) ?? { id: rel.component }] };
    return { product: plain.get(pid) ?? { id: pid }, subcomponents: [] };
  };
  /** product ids of an entry's product_ids and group_ids */
  const idsOf = (e: Json, at: string): string[] => {
    const ids = c.arr(e.product_ids, `${at}.product_ids`).map((p, j) => c.need(p, `${at}.product_ids[${j}]`));
    c.arr(e.group_ids, `${at}.group_ids`).forEach((g, j) => ids.push(...(groups.get(c.need(g, `${at}.group_ids[${j}]`)) ?? [])));
    return ids;
  };

  const statements: VexStatement[] = [];
  const vulns = o.vulnerabilities;
  if (!Array.isArray(vulns)) c.fail('vulnerabilities', 'a csaf vex document needs a vulnerabilities array');
  vulns.forEach((raw, i) => {
    const at = `vulnerabilities[${i}]`;
    const v = c.obj(raw, at);
    const cve = c.str(v.cve, `${at}.cve`);
    const others = c.arr(v.ids, `${at}.ids`).map((x, j) => c.need(c.obj(x, `${at}.ids[${j}]`).text, `${at}.ids[${j}].text`));
    const vulnerability = cve ?? others[0];
    if (!vulnerability) c.fail(at, 'a vulnerability needs a cve or ids');
    const ids = uniqueUpper([vulnerability, ...others]);
    // per product: the flag (justification), the impact threat and the remediation that name it
    const justification = new Map<string, { label: string; date?: string }>();
    c.arr(v.flags, `${at}.flags`).forEach((f, j) => {
      const flag = c.obj(f, `${at}.flags[${j}]`);
      const label = c.need(flag.label, `${at}.flags[${j}].label`);
      const date = c.str(flag.date, `${at}.flags[${j}].date`);
      for (const pid of idsOf(flag, `${at}.flags[${j}]`)) justification.set(pid, date ? { label, date } : { label });
    });
    const impact = new Map<string, string>();
    c.arr(v.threats, `${at}.threats`).forEach((t, j) => {
      const threat = c.obj(t, `${at}.threats[${j}]`);
      if (threat.category !== 'impact') return;
      const details = c.str(threat.details, `${at}.threats[${j}].details`);
      if (details) for (const pid of idsOf(threat, `${at}.threats[${j}]`)) impact.set(pid, details);
    });
    const action = new Map<string, string>();
    c.arr(v.remediations, `${at}.remediations`).forEach((r, j) => {
      const rem = c.obj(r, `${at}.remediations[${j}]`);
      const details = c.str(rem.details, `${at}.remediations[${j}].details`);
      if (details) for (const pid of idsOf(rem, `${at}.remediations[${j}]`)) action.set(pid, details);
    });
    const status = v.product_status === undefined ? {} : c.obj(v.product_status, `${at}.product_status`);
    for (const [list, vexStatus] of CSAF_STATUS) {
      c.arr(status[list], `${at}.product_status.${list}`).forEach((p, j) => {
        const pid = c.need(p, `${at}.product_status.${list}[${j}]`);
        const st: VexStatement = { vulnerability, ids, products: [productOf(pid)], status: vexStatus };
        const flag = justification.get(pid);
        if (flag && vexStatus === 'not_affected') st.justification = flag.label;
        const imp = impact.get(pid);
        if (imp) st.impactStatement = imp;
        const act = action.get(pid);
        if (act) st.actionStatement = act;
        const timestamp = (vexStatus === 'not_affected' ? flag?.date : undefined) ?? docTime;
        if (timestamp) st.timestamp = timestamp;
        const time = timeOf(timestamp);
        if (time !== undefined) st.time = time;
        statements.push(st);
      });
    }
  });
  const out: VexDocument = { file, format: 'csaf', statements };
  const id = c.str(tracking.id, 'document.tracking.id');
  if (id) out.id = id;
  if (docTime) out.timestamp = docTime;
  return out;
}
