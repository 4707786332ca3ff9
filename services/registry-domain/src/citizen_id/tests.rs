use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn today() -> NaiveDate {
    date(2024, 6, 1)
}

/// The sample number printed in GB 11643-1999 (female, born 1949-12-31).
const SAMPLE: &str = "11010519491231002X";

#[test]
fn parses_the_standard_sample_and_reads_its_fields() {
    let id = CitizenId::parse(SAMPLE, today()).unwrap();
    assert_eq!(id.birth_date(), date(1949, 12, 31));
    assert_eq!(id.sex(), Sex::Female);
    assert_eq!(id.address_code(), "110105");
    assert_eq!(id.masked(), "110105********002X");
}

#[test]
fn trims_and_upper_cases_the_check_character() {
    let id = CitizenId::parse("  11010519491231002x \n", today()).unwrap();
    assert_eq!(id, CitizenId::parse(SAMPLE, today()).unwrap());
}

#[test]
fn debug_never_shows_the_number() {
    let id = CitizenId::parse(SAMPLE, today()).unwrap();
    let shown = format!("{id:?}");
    assert!(!shown.contains(SAMPLE), "{shown}");
    assert!(shown.contains("110105********002X"), "{shown}");
}

#[test]
fn keyed_hash_is_hex_hmac_sha256_and_depends_on_the_key() {
    let id = CitizenId::parse(SAMPLE, today()).unwrap();
    let a = id.keyed_hash(b"key-a");
    assert_eq!(a.len(), 64);
    assert!(a
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(a, id.keyed_hash(b"key-a"));
    assert_ne!(a, id.keyed_hash(b"key-b"));
    // RFC 4231 style cross-check with an independent computation of the same MAC.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"key-a").unwrap();
    mac.update(SAMPLE.as_bytes());
    assert_eq!(a, hex::encode(mac.finalize().into_bytes()));
}

#[test]
fn rejects_wrong_length_naming_the_length() {
    let err = CitizenId::parse("1101051949123100", today()).unwrap_err();
    assert_eq!(err, CitizenIdError::Length { found: 16 });
    assert_eq!(
        err.to_string(),
        "citizen ID must have 18 characters, found 16"
    );
    // Counted in characters, not bytes.
    let err = CitizenId::parse("一一0105194912310020", today()).unwrap_err();
    assert_eq!(err, CitizenIdError::NonDigit { position: 1 });
}

#[test]
fn rejects_non_digit_with_its_position() {
    let err = CitizenId::parse("1101051949123100A2", today()).unwrap_err();
    assert_eq!(err, CitizenIdError::NonDigit { position: 17 });
    let err = CitizenId::parse("110105１949123100２X", today()).unwrap_err();
    assert_eq!(err, CitizenIdError::NonDigit { position: 7 });
}

#[test]
fn rejects_impossible_future_and_too_old_birth_dates() {
    for (raw, needle) in [
        ("110105194902300020", "1949-02-30 is not a calendar date"),
        ("110105202501010020", "after today"),
        ("110105189912310020", "before 1900-01-01"),
    ] {
        match CitizenId::parse(raw, today()) {
            Err(CitizenIdError::BirthDate { reason }) => {
                assert!(reason.contains(needle), "{reason}")
            }
            other => panic!("{raw}: expected a birth date error, got {other:?}"),
        }
    }
}

#[test]
fn rejects_wrong_check_character_naming_both() {
    let err = CitizenId::parse("110105194912310021", today()).unwrap_err();
    assert_eq!(
        err,
        CitizenIdError::CheckCharacter {
            expected: 'X',
            found: '1'
        }
    );
    assert_eq!(
        err.to_string(),
        "citizen ID check character should be 'X', found '1'"
    );
}

/// Small deterministic generator so the property test needs no extra dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// ISO 7064 MOD 11-2, computed from its definition (weights 2^(17-i) mod 11, check value
/// (12 - sum mod 11) mod 11 with 10 written as X) rather than from the crate's tables.
fn independent_check(first17: &str) -> char {
    let sum: u64 = first17
        .bytes()
        .enumerate()
        .map(|(i, b)| u64::from(b - b'0') * ((1u64 << (17 - i)) % 11))
        .sum();
    match (12 - sum % 11) % 11 {
        10 => 'X',
        v => char::from(b'0' + v as u8),
    }
}

fn random_valid_id(rng: &mut XorShift) -> (String, NaiveDate) {
    let days = (today() - date(1900, 1, 1)).num_days() as u64;
    let birth = date(1900, 1, 1) + chrono::Days::new(rng.below(days + 1));
    let address = 110_000 + rng.below(550_000);
    let sequence = rng.below(1000);
    let first17 = format!("{address:06}{}{sequence:03}", birth.format("%Y%m%d"));
    let mut id = first17.clone();
    id.push(independent_check(&first17));
    (id, birth)
}

#[test]
fn property_random_valid_ids_parse_and_any_single_digit_change_fails() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2_000 {
        let (raw, birth) = random_valid_id(&mut rng);
        let id = CitizenId::parse(&raw, today()).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(id.birth_date(), birth);
        let seventeenth = raw.as_bytes()[16] - b'0';
        let expected_sex = if seventeenth % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        };
        assert_eq!(id.sex(), expected_sex);

        let position = rng.below(17) as usize;
        let old = raw.as_bytes()[position] - b'0';
        let new = (old + 1 + rng.below(9) as u8) % 10;
        let mut mutated = raw.clone().into_bytes();
        mutated[position] = b'0' + new;
        let mutated = String::from_utf8(mutated).unwrap();
        assert!(
            CitizenId::parse(&mutated, today()).is_err(),
            "{raw} -> {mutated} still parses"
        );
    }
}

#[test]
fn parse_errors_become_invalid_citizen_id() {
    let err: crate::DomainError = CitizenId::parse("123", today()).unwrap_err().into();
    assert_eq!(
        err,
        crate::DomainError::Invalid {
            field: "citizen_id",
            reason: "citizen ID must have 18 characters, found 3".into()
        }
    );
}
