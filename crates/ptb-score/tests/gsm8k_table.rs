//! GSM8K completion shapes under both profiles, each traced to a rule of scorers.md.

mod common;

use common::{Row, Want::*, check};
use ptb_score::{Profile, Verdict, gsm8k};

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // §1.4 reference examples.
    ("ANSWER: 42", "42", C, C),
    ("ANSWER: $42.00", "42", C, C),             // $ deleted; 42.00 → .5g "42"; strict deletes $
    ("ANSWER: **42**", "42", C, C),             // * deleted; strict deletes **
    ("ANSWER: 42.", "42", C, C),                // non-decimal '.' deleted; strict drops trailing '.'
    ("ANSWER: ４２", "42", C, C),                // NUM-8 fullwidth digits; strict normalises
    ("ANSWER: 142", "42", C, I),                // NUM-1 suffix; strict exact value
    ("ANSWER: 15", "5", C, I),                  // NUM-1
    ("ANSWER: 5", "15", I, I),
    ("ANSWER: 1.5", "15", I, I),
    ("ANSWER: 42.000003", "42", C, I),          // NUM-6 five significant digits
    ("ANSWER: 250003", "250000", C, I),         // NUM-6
    // §2.4 quirks.
    ("ANSWER: 36\n(That is 3 dozen.)", "36", I, C),         // NUM-2 last number anywhere; §7.1 example
    ("We need 40 apples.\nANSWER: (42)", "42", I, C),      // NUM-3 decorated number invisible; §7.1 (42)
    ("ANSWER: \\$42", "42", C, C),              // NUM-4 raw token `\42` ends with 42; strict deletes \$
    ("ANSWER: -4", "4", C, I),                  // NUM-5 sign ignored; strict keeps signs
    ("ANSWER: 41.99999", "42", C, I),           // NUM-6
    ("ANSWER: 130000", "300000", C, I),         // NUM-7 1.3e+05 ends with 3e+05
    ("ANSWER: 2²", "4", C, I),                  // NUM-8 superscript exponent; strict reads 2
    ("ANSWER: −7", "7", C, I),                  // NUM-8 Unicode minus not a number → NUM-4; strict −7
    ("ANSWER: 十二", "12", C, N),               // NUM-8 CJK numeral; strict has no literal
    ("ANSWER: 2400", "2,400", I, C),            // GSM-1 comma target needs the surface form; §7.1 example
    ("ANSWER: 2,400 dollars", "2,400", I, C),   // GSM-1 text after the target
    ("ANSWER: $2,400.", "2,400", C, C),         // GSM-1 trailing punctuation stripped
    ("ANSWER: 2,400\u{a0}.", "2,400", I, C),    // §1.4 step 5: Unicode space survives the ASCII strip
    ("ANSWER: 4", "-4", C, I),                  // GSM-2 target sign stripped; §7.1 example
    ("ANSWER: 14", "-4", C, I),                 // GSM-2 + GSM-3 suffix
    ("ANSWER: -4 degrees", "-4", I, C),         // GSM-2; §7.1 example
    ("ANSWER: −3", "-3", C, C),                 // GSM-2 text path; strict normalises U+2212
    ("ANSWER: 12,400", "2,400", C, I),          // GSM-3 suffix on text-path targets
    // §7.1 examples and further shapes.
    ("ANSWER: forty-two", "42", I, N),          // NUM-4 raw token fails; strict: no literal → N
    ("\\boxed{12} and \\boxed{13}", "13", I, C), // GSM has no box removal (raw `\boxed{13}`); strict last box
    ("", "42", I, N),                           // §1.2 empty → I; strict N
    ("ANSWER: 7%", "7", I, C),                  // GSM-2.2 rule 3: `7%` is no number, raw token fails
    ("ANSWER: ~42", "42", C, I),                // NUM-4 raw `~42`; strict hedge mark → I
    ("ANSWER: > 40", "40", C, I),               // NUM-4; strict hedge mark (spaces ignored) → I
    ("ANSWER: 4.2e1", "42", I, C),              // NUM-3 exponent invisible; strict 4.2e1 = 42
    ("ANSWER: \\frac{208}{2}", "104", I, C),    // NUM-3; strict \frac is an exact rational
    ("ANSWER: 6/3", "2", I, C),                 // NUM-3 `7/2` invisible; strict a/b rational
    ("ANSWER: 042", "42", C, C),                // leading zeros are harmless
    ("The answer is 18.", "18", C, C),          // strict fallback span (c): last literal
    ("ANSWER: 18\nThat took 2 hours.", "18", I, C), // NUM-2
    ("ANSWER:7", "7", C, C),                    // NUM-4 raw `answer:7` ends with 7; strict marker
    ("ANSWER: 3E+05", "300000", C, C),          // NUM-4 after casefold: `3e+05` ends with `3e+05`
    ("ANSWER: 1,070", "70", C, I),              // commas deleted then NUM-1
    ("ANSWER:\r\n  42\r\n", "42", C, C),        // strict: blank remainder → next non-blank line
    ("ANSWER: ½½", "42", Err, N),               // §1.4 step 4.5(e): both parsers raise → sample error
    ("ANSWER: 5\nANSWER: 6", "6", C, C),        // strict: last marker
    ("ANSWER: 5\nANSWER: 6", "5", I, I),
];

#[test]
fn gsm8k_shapes_under_both_profiles() {
    assert!(ROWS.len() >= 20);
    check(ROWS, gsm8k::score);
}

#[test]
fn target_is_text_after_last_hashes() {
    assert_eq!(gsm8k::target_from_answer("48/2 = <<48/2=24>>24\n#### 72"), "72");
    assert_eq!(gsm8k::target_from_answer("a #### b\n####  1,450,000 \n"), "1,450,000");
    assert_eq!(gsm8k::target_from_answer("#### -3"), "-3");
    assert_eq!(gsm8k::target_from_answer("  18 "), "18");
}

#[test]
fn extracted_answers() {
    let v1 = gsm8k::score(Profile::PtbV1, "ANSWER: $42.00", "42").unwrap();
    assert_eq!(v1.extracted.as_deref(), Some("42"));
    let raw = gsm8k::score(Profile::PtbV1, "ANSWER: \\$42", "42").unwrap();
    assert_eq!(raw.extracted.as_deref(), Some("\\42"));
    let text = gsm8k::score(Profile::PtbV1, " ANSWER: 2,400. ", "2,400").unwrap();
    assert_eq!(text.extracted.as_deref(), Some("ANSWER: 2,400."));
    let strict = gsm8k::score(Profile::Strict, "ANSWER: $2,400.00", "2,400").unwrap();
    assert_eq!((strict.verdict, strict.extracted.as_deref()), (Verdict::C, Some("2,400.00")));
    let none = gsm8k::score(Profile::Strict, "no idea", "42").unwrap();
    assert_eq!((none.verdict, none.extracted), (Verdict::N, None));
}

#[test]
fn strict_rejects_non_numeric_targets() {
    assert!(gsm8k::score(Profile::Strict, "ANSWER: 4", "four").is_err());
    // v1 takes the text path for the same target instead.
    let v1 = gsm8k::score(Profile::PtbV1, "it is four", "four").unwrap();
    assert_eq!(v1.verdict, Verdict::C);
}

#[test]
fn verdict_values_and_profile_names() {
    assert_eq!(Verdict::C.value(), 1.0);
    assert_eq!(Verdict::I.value(), 0.0);
    assert_eq!(Verdict::N.value(), 0.0);
    assert_eq!(serde_json::to_string(&Profile::PtbV1).unwrap(), "\"ptb-v1\"");
    assert_eq!(serde_json::from_str::<Profile>("\"strict\"").unwrap(), Profile::Strict);
}
