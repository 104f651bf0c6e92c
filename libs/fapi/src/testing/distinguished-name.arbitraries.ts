// Test support: fast-check generators of distinguished names, as a model (OIDs and exact values)
// and as the many strings that spell the same model. Not exported from the lib's index.
import fc from 'fast-check';

/** One attribute of the model: the OID and the exact value it must parse to. */
export interface ModelAttribute {
  oid: string;
  value: string;
}

/** RDNs in RFC 4514 order (most specific first), each one or more attributes. */
export type ModelDn = ModelAttribute[][];

/** The spellings our table accepts for some OIDs (RFC 4514 §3 names and aliases). */
export const KNOWN_SPELLINGS: Readonly<Record<string, readonly string[]>> = {
  '2.5.4.3': ['CN', 'commonName'],
  '2.5.4.6': ['C', 'countryName'],
  '2.5.4.8': ['ST', 'stateOrProvinceName', 'S'],
  '2.5.4.10': ['O', 'organizationName'],
  '2.5.4.11': ['OU', 'organizationalUnitName'],
  '2.5.4.97': ['organizationIdentifier'],
  '0.9.2342.19200300.100.1.1': ['UID', 'userId'],
  '1.2.840.113549.1.9.1': ['emailAddress', 'E', 'email'],
};

/** OIDs without a name in the table: printed and parsed as dotted OIDs (RFC 4514 §2.3). */
export const UNNAMED_OIDS = ['1.3.6.1.4.1.99999.7', '2.5.4.99', '1.2.3'] as const;

export const oidArbitrary = fc.constantFrom(...Object.keys(KNOWN_SPELLINGS), ...UNNAMED_OIDS);

/**
 * Characters that exercise every escaping rule of RFC 4514 §2.4 and the RFC 4518 preparation:
 * the specials, spaces and tabs, NUL, letters whose case maps to several characters, NFKC
 * compatibility characters and an astral one.
 */
export const VALUE_CHARACTERS = [...'"+,;<>\\#= /.-_', '\t', '\0', ...'aAbBzZ09', ...'éÉßİıΩω€Ⅻﬁ', '𝄞'] as const;

export const valueCharArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...VALUE_CHARACTERS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

export const valueArbitrary = (minLength = 0) => fc.string({ unit: valueCharArbitrary, minLength, maxLength: 10 });

export const attributeArbitrary = (minLength = 0): fc.Arbitrary<ModelAttribute> =>
  fc.record({ oid: oidArbitrary, value: valueArbitrary(minLength) });

/** A non-empty DN model of up to five RDNs, a few of them multi-valued. */
export const modelDnArbitrary = (minValueLength = 0): fc.Arbitrary<ModelDn> =>
  fc.array(fc.array(attributeArbitrary(minValueLength), { minLength: 1, maxLength: 3 }), {
    minLength: 1,
    maxLength: 5,
  });

// ---- spelling a model as text ----

/** How one attribute is written; every choice spells the same value. */
export interface AttributeStyle {
  /** Index into the OID's spellings; past the end means the dotted OID (with `OID.` when odd). */
  typeSpelling: number;
  typeCase: 'as-is' | 'upper' | 'lower';
  valueForm: 'escaped' | 'hex-escaped' | 'quoted' | 'ber';
  spaceAroundEquals: boolean;
}

export interface DnStyle {
  attributes: AttributeStyle[];
  /** `,` or `;` between RDNs (RFC 2253 §4), with or without spaces around it. */
  rdnSeparator: ',' | ';' | ' , ' | ' ; ' | ', ';
  avaSeparator: '+' | ' + ';
}

export const attributeStyleArbitrary: fc.Arbitrary<AttributeStyle> = fc.record({
  typeSpelling: fc.nat({ max: 4 }),
  typeCase: fc.constantFrom('as-is', 'upper', 'lower'),
  valueForm: fc.constantFrom('escaped', 'hex-escaped', 'quoted', 'ber'),
  spaceAroundEquals: fc.boolean(),
});

export const dnStyleArbitrary: fc.Arbitrary<DnStyle> = fc.record({
  attributes: fc.array(attributeStyleArbitrary, { minLength: 16, maxLength: 16 }),
  rdnSeparator: fc.constantFrom(',', ';', ' , ', ' ; ', ', '),
  avaSeparator: fc.constantFrom('+', ' + '),
});

/** The model written as an RFC 4514 / RFC 2253 string in the given style. */
export function spellDn(model: ModelDn, style: DnStyle): string {
  let index = 0;
  return model
    .map((rdn) =>
      rdn
        .map((ava) => spellAttribute(ava, style.attributes[index++ % style.attributes.length]!))
        .join(style.avaSeparator),
    )
    .join(style.rdnSeparator);
}

function spellAttribute(ava: ModelAttribute, style: AttributeStyle): string {
  const names = KNOWN_SPELLINGS[ava.oid] ?? [];
  let type = style.typeSpelling < names.length ? names[style.typeSpelling]! : ava.oid;
  if (type === ava.oid && style.typeSpelling % 2 === 1) type = `OID.${ava.oid}`;
  if (style.typeCase === 'upper') type = type.toUpperCase();
  if (style.typeCase === 'lower') type = type.toLowerCase();
  const equals = style.spaceAroundEquals ? ' = ' : '=';
  return `${type}${equals}${spellValue(ava.value, style.valueForm)}`;
}

/** RFC 4514 §2.4 escaping, in one of four equivalent forms. */
export function spellValue(value: string, form: AttributeStyle['valueForm']): string {
  const chars = Array.from(value);
  switch (form) {
    case 'quoted':
      // RFC 2253 §4: inside quotes only `"` and `\` need escaping.
      return `"${value.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
    case 'ber':
      return `#${utf8StringBer(value)}`;
    case 'hex-escaped':
      return chars.map(hexEscape).join('');
    case 'escaped':
      return chars
        .map((ch, index) => {
          if ('"+,;<>\\'.includes(ch)) return `\\${ch}`;
          if ((index === 0 && (ch === ' ' || ch === '#')) || (index === chars.length - 1 && ch === ' ')) {
            return `\\${ch}`;
          }
          // Whitespace at the very end of a DN is trimmed unless escaped.
          if (index === chars.length - 1 && /\s/u.test(ch)) return hexEscape(ch);
          return ch === '\0' ? '\\00' : ch;
        })
        .join('');
  }
}

function hexEscape(ch: string): string {
  return Array.from(Buffer.from(ch, 'utf8'), (byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('');
}

/** The DER of a UTF8String holding `value`, in hex (RFC 4514 §2.4 `#hexstring`). */
export function utf8StringBer(value: string): string {
  return berHex(0x0c, Buffer.from(value, 'utf8'));
}

export function berHex(tag: number, content: Uint8Array): string {
  const length =
    content.length < 0x80
      ? [content.length]
      : content.length < 0x100
        ? [0x81, content.length]
        : [0x82, content.length >> 8, content.length & 0xff];
  return Buffer.from([tag, ...length, ...content]).toString('hex');
}

// ---- variants the matching rule must forgive ----

/** How a value may be re-typed without changing it under caseIgnoreMatch (RFC 4518 §2). */
export interface ValueVariant {
  /** Per character: keep, upper-case or lower-case it. */
  cases: Array<'keep' | 'upper' | 'lower'>;
  /** Unicode form to rewrite the value in first; NFKC of every form is the same. */
  form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD';
  /** Spaces added before and after (insignificant), and whether inner spaces are doubled. */
  padding: [number, number];
  widenSpaces: boolean;
}

export const valueVariantArbitrary: fc.Arbitrary<ValueVariant> = fc.record({
  cases: fc.array(fc.constantFrom('keep', 'upper', 'lower'), { minLength: 12, maxLength: 12 }),
  form: fc.constantFrom('NFC', 'NFD', 'NFKC', 'NFKD'),
  padding: fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 })),
  widenSpaces: fc.boolean(),
});

export function varyValue(value: string, variant: ValueVariant): string {
  const cased = Array.from(value.normalize(variant.form))
    .map((ch, index) => {
      const change = variant.cases[index % variant.cases.length];
      return change === 'upper' ? ch.toUpperCase() : change === 'lower' ? ch.toLowerCase() : ch;
    })
    .join('');
  const widened = variant.widenSpaces ? cased.replace(/ /g, '  ') : cased;
  return `${' '.repeat(variant.padding[0])}${widened}${' '.repeat(variant.padding[1])}`;
}

/** The value as caseIgnoreMatch sees it; a mutation that changes this must make DNs unequal. */
export function preparedValue(value: string): string {
  return value.normalize('NFKC').replace(/\s+/gu, ' ').trim().toUpperCase().toLowerCase();
}
