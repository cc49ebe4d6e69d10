//! Property tests: scoring never panics, and v1 accepts a plain `ANSWER: n`.

use proptest::prelude::*;
use ptb_score::{Profile, Verdict, aime, gsm8k};

/// Text drawn from characters the scorers treat specially, mixed with arbitrary Unicode.
fn tricky_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "0", "7", "42", ".", ",", "$", "*", "_", "-", "+", "/", "e", "E", " ", "\n", "\r\n", "\u{a0}", "\u{1c}",
        "ANSWER:", "answer :", "\\boxed{", "\\frac{", "\\dfrac{", "{", "}", "\\text{", "\\$", "~", "≈", "²", "½", "⅓",
        "Ⅻ", "①", "十", "万", "兆", "廿", "〇", "٣", "４", "−", "1,000", "e+05", "\\,", "{,}",
    ]);
    let piece = prop_oneof![atoms.prop_map(str::to_string), any::<char>().prop_map(String::from)];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![tricky_text(), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn scoring_never_panics(completion in any_text(), target in any_text()) {
        for profile in [Profile::PtbV1, Profile::Strict] {
            let results = [
                gsm8k::score(profile, &completion, &target),
                aime::score(profile, &completion, &target),
            ];
            for scored in results.into_iter().flatten() {
                // v1 emits only C or I (§1.2).
                prop_assert!(profile == Profile::Strict || scored.verdict != Verdict::N);
            }
        }
        let _ = gsm8k::target_from_answer(&completion);
    }

    #[test]
    fn plain_answer_line_is_correct(n in 0u64..1_000_000_000_000_000) {
        let completion = format!("Reasoning...\nANSWER: {n}");
        let target = n.to_string();
        for profile in [Profile::PtbV1, Profile::Strict] {
            prop_assert_eq!(gsm8k::score(profile, &completion, &target).unwrap().verdict, Verdict::C);
            prop_assert_eq!(aime::score(profile, &completion, &target).unwrap().verdict, Verdict::C);
        }
    }
}
