import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import { encodeCycloneDx } from '../sbom/index.js';
import { sampleInventory } from '../sbom/testdata/sample-inventory.js';
import { inspectImage } from './inspect.js';
import { sbomImage } from './sbom.js';
import { inventoryFromSbomFile } from './sbom-file.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-sbom-file-'));

describe('sbom: targets', () => {
  it('sbomImage decodes the file instead of opening an image', async () => {
    const file = join(dir, 'app.cdx.json');
    writeFileSync(file, encodeCycloneDx(sampleInventory()));
    const inv = await sbomImage(`sbom:${file}`);
    expect(inv.packages.map((p) => p.id).sort()).toEqual(sampleInventory().packages.map((p) => p.id).sort());
    expect(inv.source.name).toBe(sampleInventory().source.name);
  });

  it('the decoder warnings reach the issue log', async () => {
    const file = join(dir, 'nover.json');
    writeFileSync(file, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'x', purl: 'pkg:npm/x' }] }));
    const log = new IssueLog();
    const inv = await inventoryFromSbomFile(file, { issues: log });
    expect(inv.packages[0]!.version).toBe('');
    expect(log.issues).toEqual([expect.objectContaining({ code: 'SBOM_INVALID', path: file })]);
  });

  it('missing files are IO_ERROR, bad documents SBOM_INVALID, image commands refuse sbom: with USAGE', async () => {
    await expect(inventoryFromSbomFile(join(dir, 'none.json'))).rejects.toSatisfy((e) => isDrydockError(e, 'IO_ERROR'));
    await expect(inventoryFromSbomFile(dir)).rejects.toSatisfy((e) => isDrydockError(e, 'IO_ERROR'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"nope": 1}');
    await expect(sbomImage(`sbom:${bad}`)).rejects.toSatisfy((e) => isDrydockError(e, 'SBOM_INVALID') && (e as Error).message.includes(bad));
    await expect(inspectImage(`sbom:${bad}`)).rejects.toSatisfy((e) => isDrydockError(e, 'USAGE') && /sbom: targets hold an inventory/.test((e as Error).message));
  });
});
