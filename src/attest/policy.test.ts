import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleInventory } from '../sbom/testdata/sample-inventory.js';
import { compilePolicy, evaluatePolicy, runPolicy } from './policy.js';
import { sbomPredicate } from './predicates.js';
import { makeStatement, type Statement } from './statement.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const at = (iso: string) => ({ now: () => new Date(iso) });

function vulnStatement(finishedOn: string, severities: string[]): Statement {
  return makeStatement({ digest: DIGEST }, 'https://cosign.sigstore.dev/attestation/vuln/v1', {
    scanner: { uri: 'pkg:generic/drydock@1', result: { findings: severities.map((s, i) => ({ id: `CVE-${i}`, severity: s })) } },
    metadata: { scanStartedOn: finishedOn, scanFinishedOn: finishedOn },
  });
}

const FRESH = "now - timestamp(predicate.metadata.scanFinishedOn) < duration('24h')";
const NO_CRITICAL = "!predicate.scanner.result.findings.exists(f, f.severity == 'critical')";

describe('CEL policies', () => {
  it('scan finished less than 24 hours ago', () => {
    const p = compilePolicy(FRESH);
    expect(runPolicy(p, vulnStatement('2025-03-01T00:00:00Z', []), { clock: at('2025-03-01T23:00:00Z') }).passed).toBe(true);
    expect(runPolicy(p, vulnStatement('2025-03-01T00:00:00Z', []), { clock: at('2025-03-02T01:00:00Z') }).passed).toBe(false);
  });

  it('no critical finding in a vulnerability predicate', () => {
    const p = compilePolicy(NO_CRITICAL);
    expect(runPolicy(p, vulnStatement('2025-03-01T00:00:00Z', ['high', 'low']), {}).passed).toBe(true);
    expect(runPolicy(p, vulnStatement('2025-03-01T00:00:00Z', ['high', 'critical']), {}).passed).toBe(false);
  });

  it('the SBOM names no banned package (a YAML list of named conditions)', () => {
    const inv = sampleInventory();
    const { predicateType, predicate } = sbomPredicate(inv, 'cyclonedx');
    const st = makeStatement({ digest: DIGEST }, predicateType, predicate);
    const banned = inv.packages[0]!.name;
    const policy = (names: string[]) =>
      compilePolicy(`- name: is a CycloneDX SBOM\n  expr: predicateType == "https://cyclonedx.org/bom"\n- name: no banned package\n  expr: '!predicate.components.exists(c, c.name in ${JSON.stringify(names)})'\n`, 'policy.yaml');
    expect(runPolicy(policy(['left-pad', 'event-stream']), st).passed).toBe(true);
    const r = runPolicy(policy(['left-pad', banned]), st);
    expect(r.passed).toBe(false);
    expect(r.results.map((c) => [c.name, c.passed])).toEqual([['is a CycloneDX SBOM', true], ['no banned package', false]]);
  });

  it('binds subject and statement; a missing field or a non-boolean fails the condition with the error', () => {
    const st = vulnStatement('2025-03-01T00:00:00Z', []);
    expect(runPolicy(compilePolicy(`subject[0].digest.sha256 == "${'ab'.repeat(32)}" && statement._type.endsWith("/v1")`), st).passed).toBe(true);
    const missing = runPolicy(compilePolicy('predicate.nothing.here == 1'), st);
    expect(missing.passed).toBe(false);
    expect(missing.results[0]!.error).toMatch(/nothing/);
    const notBool = runPolicy(compilePolicy('1 + 2'), st);
    expect(notBool.results[0]!.error).toMatch(/not a boolean/);
  });

  it('a syntax error is a USAGE error naming the file', () => {
    expect(() => compilePolicy('predicate.x ==', 'p.cel')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^p\.cel: condition "policy" is not valid CEL/) }));
    expect(() => compilePolicy('  \n', 'p.cel')).toThrow(/empty/);
  });

  it('CUE and Rego policies (cosign --policy) are refused with a clear message', () => {
    const cue = 'import "time"\n\npredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"\npredicate: {\n  scanner: { uri: "x" }\n}\n';
    const rego = 'package signature\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n  input.predicateType == "x"\n}\n';
    expect(() => compilePolicy(cue, 'policy.txt')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/looks like CUE; Drydock policies are written in CEL only/) }));
    expect(() => compilePolicy(rego, 'policy.txt')).toThrow(/looks like Rego/);
    expect(() => compilePolicy('true', 'policy.cue')).toThrow(/looks like CUE/);
    expect(() => compilePolicy('true', 'x.rego')).toThrow(/looks like Rego/);
  });

  it('evaluatePolicy reads a file or takes an expression', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-policy-'));
    const file = join(dir, 'policy.cel');
    writeFileSync(file, `// fresh scans only\n${FRESH}\n`);
    const st = vulnStatement('2025-03-01T00:00:00Z', []);
    expect((await evaluatePolicy({ file }, st, { clock: at('2025-03-01T01:00:00Z') })).passed).toBe(true);
    expect((await evaluatePolicy(NO_CRITICAL, st)).passed).toBe(true);
    await expect(evaluatePolicy({ file: join(dir, 'missing.cel') }, st)).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});
