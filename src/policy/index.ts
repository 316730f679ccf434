/** policy/: ignore rules and VEX are applied in match/suppress; this folder selects findings and gates runs. */
export { atLeast, gate, hasFix, parseSeverity, parseSeverityList, selectFindings, type GateResult, type SelectOptions } from './filter.js';
