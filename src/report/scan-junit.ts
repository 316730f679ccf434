/**
 * The scan as JUnit XML for CI dashboards: one testsuite per target, one failing testcase per
 * package x vulnerability (packages without findings are not listed); suppressed findings, when
 * shown, are skipped testcases. Text and attributes are escaped for XML 1.0, and characters XML 1.0
 * cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD.
 */
import type { Finding, ScanResult } from '../model/vuln.js';
import { fixedText, layerOfFinding, packageName, packagePath, partition, primaryCvss, primaryUrl, recommendation, targetName, type ScanReportOptions } from './scan-common.js';

// XML 1.0 section 2.2 (Char): #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function xmlText(s: string): string {
  return s.replace(NOT_XML_CHAR, '\ufffd').replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Attribute values: also quotes, and tabs and line breaks as references so they survive normalisation (XML 1.0 section 3.3.3). */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/["'\t\n\r]/g, (c) => ({ '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' })[c]!);
}

function details(result: ScanResult, f: Finding): string {
  const p = f.package;
  const cvss = primaryCvss(f);
  const lines = [
    `Vulnerability: ${f.id}${f.aliases.length ? ` (${f.aliases.join(', ')})` : ''}`,
    `Severity: ${f.severity}${f.severitySource ? ` (${f.severitySource})` : ''}${cvss ? `, CVSS ${cvss.version} ${cvss.score.toFixed(1)} ${cvss.vector}` : ''}`,
    `Package: ${packageName(p)} ${p.version} (${p.type})${p.purl ? ` ${p.purl}` : ''}`,
    `Fixed: ${fixedText(f) || 'unknown'}`,
  ];
  const path = packagePath(p);
  if (path) lines.push(`Path: ${path}`);
  const layer = layerOfFinding(result, p);
  if (layer) lines.push(`Layer: ${layer.index} ${layer.digest}${layer.createdBy ? ` ${layer.createdBy}` : ''}`);
  if (f.epss) lines.push(`EPSS: ${f.epss.score} (percentile ${f.epss.percentile})`);
  if (f.kev) lines.push(`Known exploited (CISA KEV) since ${f.kev.dateAdded}`);
  if (f.summary) lines.push(`Summary: ${f.summary}`);
  lines.push(`Recommendation: ${recommendation(f)}`, `More: ${primaryUrl(f)}`);
  return lines.join('\n');
}

function testcase(result: ScanResult, f: Finding, suite: string): string {
  const p = f.package;
  const name = `${f.id} in ${packageName(p)} ${p.version}`;
  const open = `    <testcase classname="${xmlAttr(`${suite}.${packageName(p)}`)}" name="${xmlAttr(name)}">`;
  if (f.suppressed) {
    const s = f.suppressed;
    return `${open}\n      <skipped message="${xmlAttr(`suppressed by ${s.kind} ${s.file}: ${s.rule}${s.reason ? ` - ${s.reason}` : ''}`)}"/>\n    </testcase>`;
  }
  const message = `${packageName(p)} ${p.version} is affected by ${f.id} (${f.severity}); fixed: ${fixedText(f) || 'unknown'}`;
  return `${open}\n      <failure message="${xmlAttr(message)}" type="${xmlAttr(f.severity)}">${xmlText(details(result, f))}</failure>\n    </testcase>`;
}

export function encodeScanJunit(result: ScanResult, opts: ScanReportOptions = {}): string {
  const { active, suppressed } = partition(result);
  const skipped = opts.showSuppressed ? suppressed : [];
  const suite = targetName(result);
  const tests = active.length + skipped.length;
  const timestamp = result.createdAt.replace(/\.\d+Z$|Z$/, '');
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="drydock" tests="${tests}" failures="${active.length}" errors="0" skipped="${skipped.length}">`,
    `  <testsuite name="${xmlAttr(suite)}" tests="${tests}" failures="${active.length}" errors="0" skipped="${skipped.length}" timestamp="${xmlAttr(timestamp)}">`,
    '    <properties>',
    `      <property name="drydock.version" value="${xmlAttr(result.descriptor.version)}"/>`,
    `      <property name="db.digest" value="${xmlAttr(result.db.digest)}"/>`,
    ...(result.inventory.source.digest ? [`      <property name="image.digest" value="${xmlAttr(result.inventory.source.digest)}"/>`] : []),
    '    </properties>',
    ...[...active, ...skipped].map((f) => testcase(result, f, suite)),
    '  </testsuite>',
    '</testsuites>',
  ];
  return lines.join('\n') + '\n';
}
