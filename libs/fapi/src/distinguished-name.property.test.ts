// Property-based tests of DN parsing, formatting and matching (RFC 4514, RFC 4517 §4.2.15,
// RFC 4518 §2): generated DN models, spelled in every way the parser accepts, and arbitrary text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '@obip/errors';
import {
  type DistinguishedName,
  distinguishedNamesEqual,
  formatDistinguishedName,
  normalizeDistinguishedName,
  parseDistinguishedName,
} from './distinguished-name';
import {
  type ModelDn,
  VALUE_CHARACTERS,
  berHex,
  dnStyleArbitrary,
  modelDnArbitrary,
  oidArbitrary,
  preparedValue,
  spellDn,
  valueArbitrary,
  valueVariantArbitrary,
  varyValue,
} from './testing/distinguished-name.arbitraries';

const RUNS = 300;
const BOTH_ORDERS = [{}, { orderInsensitive: true }] as const;

/** The model a parsed DN corresponds to (OIDs and exact values), as plain objects. */
function modelOf(dn: DistinguishedName | ModelDn): ModelDn {
  return dn.map((rdn) => rdn.map(({ oid, value }) => ({ oid, value })));
}

/** Runs `fn`; a refusal must be the typed `invalid_dn` DomainError, anything else fails. */
function parsesOrRefuses<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof DomainError, `threw a ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.equal(error.code, 'invalid_dn');
    assert.equal(error.kind, 'bad_request');
    return undefined;
  }
}

const modelWithTwoStyles = fc.record({
  model: modelDnArbitrary(),
  style: dnStyleArbitrary,
  otherStyle: dnStyleArbitrary,
});

describe('distinguished names: generated models in every spelling', () => {
  it('parse to exactly the OIDs and values they spell', () => {
    fc.assert(
      fc.property(modelDnArbitrary(), dnStyleArbitrary, (model, style) => {
        assert.deepEqual(modelOf(parseDistinguishedName(spellDn(model, style))), modelOf(model));
      }),
      { numRuns: RUNS },
    );
  });

  it('are stable under parse → format → parse, and normalising is idempotent', () => {
    fc.assert(
      fc.property(modelDnArbitrary(), dnStyleArbitrary, (model, style) => {
        const text = spellDn(model, style);
        const parsed = parseDistinguishedName(text);
        assert.deepEqual(parseDistinguishedName(formatDistinguishedName(parsed)), parsed);
        const normal = normalizeDistinguishedName(text);
        assert.equal(normalizeDistinguishedName(normal), normal);
      }),
      { numRuns: RUNS },
    );
  });

  it('match themselves and every other spelling of the same DN (reflexive, type names vs OIDs, escapes)', () => {
    fc.assert(
      fc.property(modelWithTwoStyles, ({ model, style, otherStyle }) => {
        const text = spellDn(model, style);
        for (const options of BOTH_ORDERS) {
          assert.equal(distinguishedNamesEqual(text, text, options), true);
          assert.equal(distinguishedNamesEqual(text, spellDn(model, otherStyle), options), true);
          assert.equal(
            distinguishedNamesEqual(text, formatDistinguishedName(parseDistinguishedName(text)), options),
            true,
          );
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('match under the caseIgnoreMatch preparation: case, Unicode compatibility forms and insignificant spaces', () => {
    fc.assert(
      fc.property(
        modelWithTwoStyles,
        fc.array(valueVariantArbitrary, { minLength: 16, maxLength: 16 }),
        ({ model, style, otherStyle }, variants) => {
          let index = 0;
          const varied = model.map((rdn) =>
            rdn.map((ava) => ({ oid: ava.oid, value: varyValue(ava.value, variants[index++]!) })),
          );
          for (const options of BOTH_ORDERS) {
            assert.equal(distinguishedNamesEqual(spellDn(model, style), spellDn(varied, otherStyle), options), true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('match whatever the order of the attributes inside a multi-valued RDN', () => {
    fc.assert(
      fc.property(modelDnArbitrary(), dnStyleArbitrary, (model, style) => {
        const reversed = model.map((rdn) => [...rdn].reverse());
        assert.equal(distinguishedNamesEqual(spellDn(model, style), spellDn(reversed, style)), true);
      }),
      { numRuns: RUNS },
    );
  });

  it('compare RDN order only when asked to, and then as a sequence', () => {
    const distinctRdns = modelDnArbitrary().filter(
      (model) => model.length > 1 && new Set(model.map(rdnKey)).size === model.length,
    );
    fc.assert(
      fc.property(distinctRdns, dnStyleArbitrary, fc.nat(), (model, style, seed) => {
        const rotated = [
          ...model.slice((seed % (model.length - 1)) + 1),
          ...model.slice(0, (seed % (model.length - 1)) + 1),
        ];
        assert.equal(
          distinguishedNamesEqual(spellDn(model, style), spellDn(rotated, style), { orderInsensitive: true }),
          true,
        );
        assert.equal(distinguishedNamesEqual(spellDn(model, style), spellDn(rotated, style)), false);
      }),
      { numRuns: RUNS },
    );
  });
});

/** An RDN as caseIgnoreMatch sees it. */
function rdnKey(rdn: ModelDn[number]): string {
  return JSON.stringify(rdn.map((ava) => `${ava.oid}=${preparedValue(ava.value)}`).sort());
}

type Mutation =
  | { kind: 'replace-character'; rdn: number; ava: number; at: number; by: string }
  | { kind: 'insert-character'; rdn: number; ava: number; at: number; by: string }
  | { kind: 'change-type'; rdn: number; ava: number; oid: string }
  | { kind: 'drop-rdn'; rdn: number }
  | { kind: 'add-rdn'; value: string }
  | { kind: 'drop-attribute'; rdn: number; ava: number };

const significantCharacter = fc.constantFrom(...'abcxyz0189#=+,;"\\<>é€𝄞');
const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('replace-character' as const),
    rdn: fc.nat(),
    ava: fc.nat(),
    at: fc.nat(),
    by: significantCharacter,
  }),
  fc.record({
    kind: fc.constant('insert-character' as const),
    rdn: fc.nat(),
    ava: fc.nat(),
    at: fc.nat(),
    by: significantCharacter,
  }),
  fc.record({ kind: fc.constant('change-type' as const), rdn: fc.nat(), ava: fc.nat(), oid: oidArbitrary }),
  fc.record({ kind: fc.constant('drop-rdn' as const), rdn: fc.nat() }),
  fc.record({ kind: fc.constant('add-rdn' as const), value: valueArbitrary(1) }),
  fc.record({ kind: fc.constant('drop-attribute' as const), rdn: fc.nat(), ava: fc.nat() }),
);

/** Applies one mutation; undefined when it cannot apply to this model. */
function mutate(model: ModelDn, mutation: Mutation): ModelDn | undefined {
  const copy = model.map((rdn) => rdn.map((ava) => ({ ...ava })));
  if (mutation.kind === 'drop-rdn') {
    if (copy.length < 2) return undefined;
    copy.splice(mutation.rdn % copy.length, 1);
    return copy;
  }
  if (mutation.kind === 'add-rdn') return [...copy, [{ oid: '2.5.4.3', value: mutation.value }]];
  const rdn = copy[mutation.rdn % copy.length]!;
  const index = mutation.ava % rdn.length;
  const ava = rdn[index]!;
  switch (mutation.kind) {
    case 'drop-attribute':
      if (rdn.length < 2) return undefined;
      rdn.splice(index, 1);
      return copy;
    case 'change-type':
      ava.oid = mutation.oid;
      return copy;
    case 'replace-character':
    case 'insert-character': {
      const chars = Array.from(ava.value);
      const at = mutation.at % (chars.length + 1);
      chars.splice(at, mutation.kind === 'replace-character' ? 1 : 0, mutation.by);
      ava.value = chars.join('');
      return copy;
    }
  }
}

describe('distinguished names: significant changes', () => {
  it('make two DNs unequal, and the comparison stays symmetric', () => {
    fc.assert(
      fc.property(modelDnArbitrary(), mutationArbitrary, dnStyleArbitrary, (model, mutation, style) => {
        const mutated = mutate(model, mutation);
        // Only changes the matching rule calls significant: compare the prepared RDNs as sets.
        fc.pre(mutated !== undefined);
        const before = model.map(rdnKey).sort();
        const after = mutated!.map(rdnKey).sort();
        fc.pre(JSON.stringify(before) !== JSON.stringify(after));
        const [a, b] = [spellDn(model, style), spellDn(mutated!, style)];
        for (const options of BOTH_ORDERS) {
          assert.equal(distinguishedNamesEqual(a, b, options), false);
          assert.equal(distinguishedNamesEqual(b, a, options), false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('compare symmetrically for any two generated DNs', () => {
    fc.assert(
      fc.property(modelDnArbitrary(), modelDnArbitrary(), dnStyleArbitrary, (x, y, style) => {
        const [a, b] = [spellDn(x, style), spellDn(y, style)];
        for (const options of BOTH_ORDERS) {
          assert.equal(distinguishedNamesEqual(a, b, options), distinguishedNamesEqual(b, a, options));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- arbitrary input ----

const dnAlphabet = fc.constantFrom(...VALUE_CHARACTERS, ...'CNOUuid2.5.4.3=\\#0123456789abcdefABCDEF/+');
const dnLikeText = fc.string({ unit: dnAlphabet, maxLength: 40 });
/** `CN=#…` with arbitrary BER: every string tag the parser decodes, with random contents. */
const hexValueText = fc
  .tuple(
    fc.constantFrom(0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e, 0x04, 0x30, 0x05),
    fc.uint8Array({ maxLength: 24 }),
    fc.boolean(),
  )
  .map(([tag, content, raw]) =>
    raw ? `CN=#${Buffer.from([tag, ...content]).toString('hex')}` : `CN=#${berHex(tag, content)}`,
  );
const slashText = fc.string({ unit: dnAlphabet, maxLength: 40 }).map((text) => `/${text}`);
const arbitraryDnInput = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  dnLikeText,
  hexValueText,
  slashText,
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
);

describe('distinguished names: arbitrary input', () => {
  it('is parsed or refused with invalid_dn, never another error, and what parses is stable', () => {
    fc.assert(
      fc.property(arbitraryDnInput, (text) => {
        const parsed = parsesOrRefuses(() => parseDistinguishedName(text));
        if (parsed === undefined) return;
        const formatted = formatDistinguishedName(parsed);
        assert.deepEqual(parseDistinguishedName(formatted), parsed, `format gave ${JSON.stringify(formatted)}`);
        assert.equal(normalizeDistinguishedName(formatted), normalizeDistinguishedName(text));
        if (parsed.length > 0) assert.equal(distinguishedNamesEqual(text, formatted), true);
      }),
      // The counterexamples these properties found, kept as fixed examples (see the regressions below).
      { numRuns: 2_000, examples: [['CN=tpp\\ '], ['CN=\\ '], ['CN=#1a01a0'], ['CN=#1e02d800']] },
    );
  });

  it('is compared or refused with invalid_dn, never another error', () => {
    fc.assert(
      fc.property(arbitraryDnInput, arbitraryDnInput, (a, b) => {
        for (const options of BOTH_ORDERS) {
          const result = parsesOrRefuses(() => distinguishedNamesEqual(a, b, options));
          if (result !== undefined)
            assert.equal(
              result,
              parsesOrRefuses(() => distinguishedNamesEqual(b, a, options)),
            );
        }
        parsesOrRefuses(() => normalizeDistinguishedName(a));
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses values that are not strings with invalid_dn', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((value) => typeof value !== 'string'),
        (value) => {
          assert.equal(
            parsesOrRefuses(() => parseDistinguishedName(value as string)),
            undefined,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('distinguished names: regressions found by the properties above', () => {
  it('keeps an escaped space at the very end of a DN (it was trimmed, leaving a dangling escape)', () => {
    assert.deepEqual(modelOf(parseDistinguishedName('CN=tpp\\ ')), [[{ oid: '2.5.4.3', value: 'tpp ' }]]);
    assert.deepEqual(modelOf(parseDistinguishedName('O=Bank,CN=\\ ')), [
      [{ oid: '2.5.4.10', value: 'Bank' }],
      [{ oid: '2.5.4.3', value: ' ' }],
    ]);
    assert.equal(distinguishedNamesEqual('CN=tpp\\ ,O=Bank', 'O=Bank,CN=tpp\\ ', { orderInsensitive: true }), true);
  });

  it('prints trailing non-ASCII whitespace escaped, so it survives being parsed again', () => {
    const parsed = parseDistinguishedName('CN=#1a01a0'); // VisibleString U+00A0, read as Latin-1
    assert.equal(formatDistinguishedName(parsed), 'CN=\\C2\\A0');
    assert.deepEqual(parseDistinguishedName(formatDistinguishedName(parsed)), parsed);
  });

  it('refuses a BMPString or UniversalString holding an unpaired surrogate', () => {
    assert.equal(
      parsesOrRefuses(() => parseDistinguishedName('CN=#1e02d800')),
      undefined,
    );
    assert.equal(
      parsesOrRefuses(() => parseDistinguishedName('CN=#1c040000dc00')),
      undefined,
    );
    assert.deepEqual(modelOf(parseDistinguishedName('CN=#1e04d834dd1e')), [[{ oid: '2.5.4.3', value: '𝄞' }]]);
  });
});
