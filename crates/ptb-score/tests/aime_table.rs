//! AIME completion shapes under both profiles (scorers.md §3.4, §7.1).

mod common;

use common::{Row, Want::*, check};
use ptb_score::aime;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("ANSWER: 170", "70", C, I),                                   // NUM-1
    ("ANSWER: 588\n\nVerification: 7 cases checked", "588", I, C), // NUM-2
    ("Since 2x = 90, ANSWER: 45^\\circ", "45", I, C),              // NUM-3: earlier 90 decides
    ("ANSWER: \\text{45}", "45", I, C),                             // NUM-3 raw token; strict unwraps \text
    ("We have 7 cases. ANSWER: 5.88e2", "588", I, C),              // NUM-3 e-notation invisible
    ("ANSWER: 1,070", "70", C, I),                                 // commas deleted, then NUM-1
    ("\\boxed{12} and \\boxed{13}", "13", C, C),                   // AIME-1 `\boxed{13` ends with 13; strict last box
    ("\\boxed{12} and \\boxed{13}", "12", I, I),                   // AIME-1
    ("ANSWER: 070", "70", C, C),                                   // AIME-2 leading zero
    ("ANSWER: 588.", "588", C, C),                                 // AIME-2 trailing dot
    ("ANSWER: -293", "293", C, I),                                 // AIME-3 / NUM-5
    ("Case 1 gives 5.\nANSWER: -293", "293", I, I),                // AIME-3: earlier number decides
    ("The answer is $\\boxed{204}$.", "204", C, C),                // box removed, then `$204$.` cleaned
    ("So \\boxed{\\dfrac{408}{2}}", "204", I, C),                  // strict: balanced box, \dfrac rational
    ("", "42", I, N),                                              // §3.2 step 3: empty → I
];

#[test]
fn aime_shapes_under_both_profiles() {
    check(ROWS, aime::score);
}

#[test]
fn v1_box_removal_is_greedy_per_line() {
    assert_eq!(aime::remove_boxes_v1("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
    assert_eq!(aime::remove_boxes_v1("\\boxed{12} and \\boxed{13}"), "12} and \\boxed{13");
    assert_eq!(aime::remove_boxes_v1("\\boxed{}"), "\\boxed{}");
    assert_eq!(aime::remove_boxes_v1("\\boxed{1}\n\\boxed{2}"), "1\n2");
    assert_eq!(aime::remove_boxes_v1("\\boxed{} x}"), "} x");
}
