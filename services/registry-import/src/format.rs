//! The import file format: one CSV row per person (see `FORMAT.md`), and the pure parsing of one
//! row into typed household and person parts, with a specific reason for every refusal.
//!
//! Nothing here talks to the registry: checks that need the server's reference data (citizen ID
//! validity, village codes) are left to it, so the importer and the service never disagree.

use registry_domain::{LabourCapacity, Relation};

/// Column names of the header row, in order.
pub const COLUMNS: [&str; 10] = [
    "household_ref",
    "village_code",
    "poverty_alleviated",
    "relocated",
    "settlement_area",
    "citizen_id",
    "name",
    "relation",
    "labour_capacity",
    "disabled",
];

/// The household part of a row: every row of one `household_ref` must carry the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdFields {
    /// 12-digit village code as written (validated by the registry).
    pub village_code: String,
    /// Whether the household was lifted out of poverty.
    pub poverty_alleviated: bool,
    /// Whether the household was relocated.
    pub relocated: bool,
    /// Settlement area of a relocated household; `None` when the column is empty.
    pub settlement_area: Option<String>,
}

impl HouseholdFields {
    /// The first column whose value differs from `other`, with both values, for reject reasons.
    pub fn first_difference(
        &self,
        other: &HouseholdFields,
    ) -> Option<(&'static str, String, String)> {
        let area = |a: &Option<String>| a.clone().unwrap_or_default();
        if self.village_code != other.village_code {
            Some((
                "village_code",
                self.village_code.clone(),
                other.village_code.clone(),
            ))
        } else if self.poverty_alleviated != other.poverty_alleviated {
            let (a, b) = (self.poverty_alleviated, other.poverty_alleviated);
            Some(("poverty_alleviated", a.to_string(), b.to_string()))
        } else if self.relocated != other.relocated {
            Some((
                "relocated",
                self.relocated.to_string(),
                other.relocated.to_string(),
            ))
        } else if self.settlement_area != other.settlement_area {
            let (a, b) = (area(&self.settlement_area), area(&other.settlement_area));
            Some(("settlement_area", a, b))
        } else {
            None
        }
    }
}

/// The person part of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFields {
    /// Citizen ID number, trimmed and with an upper-case `X` (validated by the registry).
    pub citizen_id: String,
    /// Name, trimmed.
    pub name: String,
    /// Relation to the head of household.
    pub relation: Relation,
    /// Labour capacity.
    pub labour_capacity: LabourCapacity,
    /// Whether the person is disabled.
    pub disabled: bool,
}

/// One well-formed data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// File-local household key, trimmed.
    pub household_ref: String,
    /// Household columns.
    pub household: HouseholdFields,
    /// Person columns.
    pub person: PersonFields,
}

/// Parses the ten UTF-8 fields of a data row. The error is the reject reason, naming the column.
pub fn parse_row(fields: &[&str]) -> Result<Row, String> {
    if fields.len() != COLUMNS.len() {
        return Err(format!(
            "expected {} columns, found {}",
            COLUMNS.len(),
            fields.len()
        ));
    }
    let field = |i: usize| fields[i].trim();
    let household_ref = field(0);
    if household_ref.is_empty() {
        return Err("column household_ref: must not be empty".to_owned());
    }
    let settlement_area = Some(field(4).to_owned()).filter(|s| !s.is_empty());
    let household = HouseholdFields {
        village_code: field(1).to_owned(),
        poverty_alleviated: parse_bool(COLUMNS[2], field(2))?,
        relocated: parse_bool(COLUMNS[3], field(3))?,
        settlement_area,
    };
    let citizen_id = field(5).to_ascii_uppercase();
    if citizen_id.is_empty() {
        return Err("column citizen_id: must not be empty".to_owned());
    }
    let name = field(6);
    if name.is_empty() {
        return Err("column name: must not be empty".to_owned());
    }
    let person = PersonFields {
        citizen_id,
        name: name.to_owned(),
        relation: parse_relation(field(7))?,
        labour_capacity: parse_labour_capacity(field(8))?,
        disabled: parse_bool(COLUMNS[9], field(9))?,
    };
    Ok(Row {
        household_ref: household_ref.to_owned(),
        household,
        person,
    })
}

/// Whether the fields are the header row (names compared case-insensitively; a UTF-8 byte-order
/// mark before the first name is ignored).
pub fn is_header(fields: &[&str]) -> bool {
    fields.len() == COLUMNS.len()
        && fields.iter().zip(COLUMNS).enumerate().all(|(i, (f, c))| {
            let f = if i == 0 {
                f.trim_start_matches('\u{feff}')
            } else {
                f
            };
            f.trim().eq_ignore_ascii_case(c)
        })
}

fn parse_bool(column: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "是" => Ok(true),
        "false" | "0" | "否" => Ok(false),
        _ => Err(format!(
            "column {column}: expected true/false/1/0/是/否, found {value:?}"
        )),
    }
}

/// Relation tokens accepted in the `relation` column: English, then Chinese.
const RELATIONS: [(Relation, &str, &str); 7] = [
    (Relation::Head, "head", "户主"),
    (Relation::Spouse, "spouse", "配偶"),
    (Relation::Child, "child", "子女"),
    (Relation::Parent, "parent", "父母"),
    (Relation::Grandchild, "grandchild", "孙子女"),
    (Relation::Sibling, "sibling", "兄弟姐妹"),
    (Relation::Other, "other", "其他"),
];

/// Labour-capacity tokens accepted in the `labour_capacity` column: English, then Chinese.
const CAPACITIES: [(LabourCapacity, &str, &str); 4] = [
    (LabourCapacity::Skilled, "skilled", "技能劳动力"),
    (LabourCapacity::Ordinary, "ordinary", "普通劳动力"),
    (LabourCapacity::Weak, "weak", "弱劳动力或半劳动力"),
    (LabourCapacity::None, "none", "无劳动力"),
];

fn parse_relation(value: &str) -> Result<Relation, String> {
    RELATIONS
        .iter()
        .find(|(_, en, zh)| value.eq_ignore_ascii_case(en) || value == *zh)
        .map(|(r, _, _)| *r)
        .ok_or_else(|| {
            format!(
                "column relation: expected one of head, spouse, child, parent, grandchild, \
                 sibling, other (or 户主, 配偶, 子女, 父母, 孙子女, 兄弟姐妹, 其他), found {value:?}"
            )
        })
}

fn parse_labour_capacity(value: &str) -> Result<LabourCapacity, String> {
    CAPACITIES
        .iter()
        .find(|(_, en, zh)| value.eq_ignore_ascii_case(en) || value == *zh)
        .map(|(c, _, _)| *c)
        .ok_or_else(|| {
            format!(
                "column labour_capacity: expected one of skilled, ordinary, weak, none (or \
                 技能劳动力, 普通劳动力, 弱劳动力或半劳动力, 无劳动力), found {value:?}"
            )
        })
}

/// The English token written for a relation.
pub fn relation_token(relation: Relation) -> &'static str {
    RELATIONS
        .iter()
        .find(|(r, _, _)| *r == relation)
        .map_or("other", |(_, en, _)| en)
}

/// The English token written for a labour capacity.
pub fn labour_capacity_token(capacity: LabourCapacity) -> &'static str {
    CAPACITIES
        .iter()
        .find(|(c, _, _)| *c == capacity)
        .map_or("none", |(_, en, _)| en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> Result<Row, String> {
        parse_row(&line.split(',').collect::<Vec<_>>())
    }

    #[test]
    fn parses_english_and_chinese_tokens() {
        let a =
            row("h1,150422101001,true,0,,150422199001011234,王小明,head,ordinary,false").unwrap();
        let b = row("h1,150422101001,是,否,,150422199001011234,王小明,户主,普通劳动力,0").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.person.relation, Relation::Head);
        assert_eq!(a.person.name, "王小明");
        assert_eq!(a.household.settlement_area, None);
        let c = row(" h2 ,1,FALSE,1,安置区,15042219900101123x,李四,孙子女,弱劳动力或半劳动力,是")
            .unwrap();
        assert_eq!(c.household_ref, "h2");
        assert_eq!(c.person.citizen_id, "15042219900101123X");
        assert_eq!(c.person.relation, Relation::Grandchild);
        assert_eq!(c.person.labour_capacity, LabourCapacity::Weak);
        assert!(c.household.relocated && c.person.disabled);
        assert_eq!(c.household.settlement_area.as_deref(), Some("安置区"));
    }

    #[test]
    fn each_bad_value_names_its_column() {
        let base = [
            "h1",
            "150422101001",
            "true",
            "false",
            "",
            "x",
            "n",
            "head",
            "none",
            "false",
        ];
        let cases = [
            (0, "", "column household_ref"),
            (
                2,
                "maybe",
                "column poverty_alleviated: expected true/false/1/0/是/否, found \"maybe\"",
            ),
            (3, "yes", "column relocated"),
            (5, "", "column citizen_id"),
            (6, " ", "column name"),
            (7, "cousin", "column relation: expected one of head"),
            (
                8,
                "strong",
                "column labour_capacity: expected one of skilled",
            ),
            (9, "2", "column disabled"),
        ];
        for (i, value, reason) in cases {
            let mut fields = base;
            fields[i] = value;
            let err = parse_row(&fields).unwrap_err();
            assert!(err.starts_with(reason), "{i}: {err}");
        }
        assert_eq!(
            parse_row(&base[..9]).unwrap_err(),
            "expected 10 columns, found 9"
        );
    }

    #[test]
    fn header_and_tokens_round_trip() {
        assert!(is_header(&COLUMNS));
        let mut upper = COLUMNS.map(str::to_ascii_uppercase);
        upper[0] = format!("\u{feff}{}", upper[0]);
        assert!(is_header(
            &upper.iter().map(String::as_str).collect::<Vec<_>>()
        ));
        assert!(!is_header(&COLUMNS[..9]));
        for (r, en, _) in RELATIONS {
            assert_eq!(parse_relation(relation_token(r)), Ok(r));
            assert_eq!(relation_token(r), en);
        }
        for (c, _, zh) in CAPACITIES {
            assert_eq!(parse_labour_capacity(labour_capacity_token(c)), Ok(c));
            assert_eq!(parse_labour_capacity(zh), Ok(c));
        }
    }
}
