use super::*;

/// Independent implementation of the GB 32100-2015 check: weight `3^i mod 31`, computed here
/// rather than taken from the table above.
fn reference_check(first17: &str) -> char {
    let alphabet: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
    let mut weight = 1u64;
    let mut sum = 0u64;
    for c in first17.chars() {
        let value = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = 31 - sum % 31;
    alphabet[if check == 31 { 0 } else { check as usize }]
}

fn valid(first17: &str) -> String {
    format!("{first17}{}", reference_check(first17))
}

#[test]
fn weights_are_powers_of_three_mod_31() {
    let mut w = 1;
    for expected in WEIGHTS {
        assert_eq!(w, expected);
        w = w * 3 % 31;
    }
}

#[test]
fn accepts_codes_checked_independently() {
    for first17 in [
        "91150422MA0N2K3L4",
        "52450100ABCDEFGHJ",
        "12110000400000000",
        "93510100XY1234567",
        "Y1530000000000000",
    ] {
        let code = valid(first17);
        let parsed = Uscc::parse(&code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(parsed.as_str(), code);
        assert_eq!(check_character(first17), Some(reference_check(first17)));
    }
}

#[test]
fn accepts_a_published_code() {
    // Huawei Technologies Co., Ltd., as printed on its business licence and public filings.
    let code = Uscc::parse("914403001922038216").unwrap();
    assert_eq!(code.registration_authority(), '9');
    assert_eq!(code.organisation_category(), '1');
    assert_eq!(code.division_code(), "440300");
    assert_eq!(code.organisation_code(), "192203821");
}

#[test]
fn check_value_31_becomes_0() {
    // Search for a body whose weighted sum is divisible by 31, so the raw check value is 31.
    let body = (0..1000u32)
        .map(|n| format!("91150422{n:09}"))
        .find(|b| {
            let alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
            let mut w = 1u32;
            let mut sum = 0u32;
            for c in b.chars() {
                sum += alphabet.find(c).unwrap() as u32 * w;
                w = w * 3 % 31;
            }
            sum.is_multiple_of(31)
        })
        .unwrap();
    assert_eq!(reference_check(&body), '0');
    Uscc::parse(&format!("{body}0")).unwrap();
}

#[test]
fn trims_and_upper_cases() {
    let code = valid("91150422MA0N2K3L4");
    let parsed = Uscc::parse(&format!("  {} ", code.to_ascii_lowercase())).unwrap();
    assert_eq!(parsed.to_string(), code);
    assert_eq!(code.parse::<Uscc>().unwrap(), parsed);
}

#[test]
fn refuses_wrong_length() {
    assert_eq!(
        Uscc::parse("91150422MA0N2K3L"),
        Err(UsccError::Length { found: 16 })
    );
    assert_eq!(Uscc::parse(""), Err(UsccError::Length { found: 0 }));
}

#[test]
fn refuses_characters_outside_the_charset_with_their_position() {
    let code = valid("91150422MA0N2K3L4");
    for (position, bad) in [
        (9, 'I'),
        (10, 'O'),
        (11, 'Z'),
        (12, 'S'),
        (13, 'V'),
        (14, '-'),
    ] {
        let mut chars: Vec<char> = code.chars().collect();
        chars[position - 1] = bad;
        let s: String = chars.into_iter().collect();
        assert_eq!(
            Uscc::parse(&s),
            Err(UsccError::Charset {
                position,
                character: bad
            })
        );
    }
}

#[test]
fn refuses_letters_in_the_division_code() {
    let code = valid("9115042AMA0N2K3L4");
    assert_eq!(
        Uscc::parse(&code),
        Err(UsccError::DivisionCode {
            found: "15042A".into()
        })
    );
}

#[test]
fn refuses_a_wrong_check_character_naming_expected_and_found() {
    let first17 = "91150422MA0N2K3L4";
    let expected = reference_check(first17);
    let found = if expected == 'A' { 'B' } else { 'A' };
    assert_eq!(
        Uscc::parse(&format!("{first17}{found}")),
        Err(UsccError::CheckCharacter { expected, found })
    );
}
