//! Importer tests against an in-process fake of the registry's gRPC API (port 0). The fake applies
//! the documented contract — command-id replays, citizen ID and village validation with the
//! domain crate, duplicate IDs with `ResourceInfo` — so these tests need no real server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use proto::registry::v1::registry_service_server::{RegistryService, RegistryServiceServer};
use proto::registry::v1::*;
use registry_domain::{CitizenId, DivisionCatalog, KeyCounties};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::*;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../../deploy/reference-data/key-counties-2021-partial.tsv");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
}

/// A valid citizen ID from its first 17 digits.
fn id(body: &str) -> String {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// The same number with a wrong check character.
fn bad_check(body: &str) -> String {
    let good = id(body);
    let wrong = if good.ends_with('1') { '2' } else { '1' };
    format!("{body}{wrong}")
}

#[derive(Default)]
struct FakeState {
    /// command id → (request bytes, stored response bytes)
    commands: HashMap<String, (Vec<u8>, Vec<u8>)>,
    households: HashMap<String, String>,
    persons: HashMap<String, String>,
    next: u64,
}

struct Fake {
    catalog: DivisionCatalog,
    state: Mutex<FakeState>,
    /// Calls still to fail with UNAVAILABLE; `u32::MAX` fails forever.
    failures: AtomicU32,
    calls: AtomicU32,
}

impl Fake {
    fn new(failures: u32) -> Arc<Fake> {
        Arc::new(Fake {
            catalog: DivisionCatalog::from_tsv(DIVISIONS).unwrap(),
            state: Mutex::default(),
            failures: AtomicU32::new(failures),
            calls: AtomicU32::new(0),
        })
    }

    fn fail_if_asked(&self) -> Result<(), Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let left = self.failures.load(Ordering::SeqCst);
        if left == u32::MAX {
            return Err(Status::unavailable("registry is down"));
        }
        if left > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(Status::unavailable("registry is restarting"));
        }
        Ok(())
    }

    /// Runs `decide` once per command id; a repeat with the same payload returns the stored
    /// response with `replayed` set, a different payload is ALREADY_EXISTS.
    fn command<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        command_id: &str,
        request: &Req,
        decide: impl FnOnce(&mut FakeState) -> Result<Resp, Status>,
        replayed: impl FnOnce(&mut Resp),
    ) -> Result<Response<Resp>, Status> {
        self.fail_if_asked()?;
        let mut state = self.state.lock().unwrap();
        let bytes = request.encode_to_vec();
        if let Some((stored_request, stored)) = state.commands.get(command_id) {
            if *stored_request != bytes {
                return Err(Status::already_exists(
                    "command id reused with another payload",
                ));
            }
            let mut response = Resp::decode(&stored[..]).unwrap();
            replayed(&mut response);
            return Ok(Response::new(response));
        }
        let response = decide(&mut state)?;
        state
            .commands
            .insert(command_id.to_owned(), (bytes, response.encode_to_vec()));
        Ok(Response::new(response))
    }
}

fn invalid(field: &str, description: impl Into<String>) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        "invalid request",
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

fn ack(replayed: bool) -> Option<CommandAck> {
    Some(CommandAck {
        replayed,
        ..CommandAck::default()
    })
}

#[tonic::async_trait]
impl RegistryService for Fake {
    async fn bulk_register(
        &self,
        _request: Request<tonic::Streaming<BulkRegisterRequest>>,
    ) -> Result<Response<BulkRegisterResponse>, Status> {
        Err(Status::unimplemented("the fake has no bulk registration"))
    }

    async fn register_household(
        &self,
        request: Request<RegisterHouseholdRequest>,
    ) -> Result<Response<RegisterHouseholdResponse>, Status> {
        let r = request.into_inner();
        self.command(
            &r.command_id.clone(),
            &r,
            |state| {
                let code = &r.village_code;
                if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("village_code", "must be exactly 12 digits"));
                }
                if !self.catalog.is_county(&code[..6]) {
                    return Err(invalid(
                        "village_code",
                        format!(
                            "county code {} is not a county in the division list",
                            &code[..6]
                        ),
                    ));
                }
                if r.relocated == r.settlement_area.is_empty() {
                    return Err(invalid(
                        "settlement_area",
                        "required exactly when relocated",
                    ));
                }
                state.next += 1;
                let household_id = format!("household-{}", state.next);
                state.households.insert(household_id.clone(), code.clone());
                Ok(RegisterHouseholdResponse {
                    household_id,
                    ack: ack(false),
                })
            },
            |resp| resp.ack = ack(true),
        )
    }

    async fn register_person(
        &self,
        request: Request<RegisterPersonRequest>,
    ) -> Result<Response<RegisterPersonResponse>, Status> {
        let r = request.into_inner();
        self.command(
            &r.command_id.clone(),
            &r,
            |state| {
                let citizen = CitizenId::parse(&r.citizen_id, today())
                    .map_err(|e| invalid("citizen_id", e.to_string()))?;
                if r.name.chars().any(char::is_control) {
                    return Err(invalid("name", "must not contain control characters"));
                }
                if !state.households.contains_key(&r.household_id) {
                    return Err(Status::not_found("household not found"));
                }
                let key = citizen.keyed_hash(b"test");
                if let Some(existing) = state.persons.get(&key) {
                    return Err(Status::with_error_details(
                        Code::AlreadyExists,
                        format!("person already exists: {existing}"),
                        ErrorDetails::with_resource_info("person", existing.clone(), "", ""),
                    ));
                }
                state.next += 1;
                let person_id = format!("person-{}", state.next);
                state.persons.insert(key, person_id.clone());
                Ok(RegisterPersonResponse {
                    person_id,
                    id_masked: citizen.masked(),
                    ack: ack(false),
                })
            },
            |resp| resp.ack = ack(true),
        )
    }

    async fn change_labour_capacity(
        &self,
        _: Request<ChangeLabourCapacityRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn record_exit(
        &self,
        _: Request<RecordExitRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn open_monitoring_case(
        &self,
        _: Request<OpenMonitoringCaseRequest>,
    ) -> Result<Response<OpenMonitoringCaseResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn advance_monitoring_case(
        &self,
        _: Request<AdvanceMonitoringCaseRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn record_assistance_measure(
        &self,
        _: Request<RecordAssistanceMeasureRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn eliminate_risk(
        &self,
        _: Request<EliminateRiskRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn return_to_assisted(
        &self,
        _: Request<ReturnToAssistedRequest>,
    ) -> Result<Response<CommandAck>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }
}

async fn serve(fake: Arc<Fake>) -> RegistryServiceClient<Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .add_service(RegistryServiceServer::from_arc(fake))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    RegistryServiceClient::new(channel)
}

/// Bulk by default: the fake has no `BulkRegister`, so every test also covers the fallback to the
/// unary RPCs.
fn options() -> ImportOptions {
    ImportOptions {
        concurrency: 4,
        bulk: true,
        progress: false,
        source_name: "test.csv".to_owned(),
    }
}

async fn run(
    client: RegistryServiceClient<Channel>,
    input: &[u8],
) -> (anyhow::Result<ImportSummary>, Vec<(u64, String, String)>) {
    let mut rejects = Vec::new();
    let result = import_csv(client, input, &mut rejects, &options()).await;
    let mut reader = csv::Reader::from_reader(&rejects[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec!["line", "reason", "raw_line"]
    );
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned())
        })
        .collect();
    if let Ok(summary) = &result {
        assert!(summary.is_consistent(), "{summary:?}");
    }
    (result, rows)
}

const HEADER: &str = "household_ref,village_code,poverty_alleviated,relocated,settlement_area,citizen_id,name,relation,labour_capacity,disabled\n";

/// A file mixing every kind of bad row with good ones; returns it with the line → expected
/// reason prefix of each reject.
fn mixed_file(existing: &str) -> (Vec<u8>, Vec<(u64, String)>) {
    let v = "150422101001";
    let mut f = HEADER.as_bytes().to_vec();
    let mut line = |text: String| {
        f.extend_from_slice(text.as_bytes());
        f.push(b'\n');
    };
    line(format!(
        "h1,{v},true,false,,{},王建国,head,ordinary,false",
        id("15042219800101001")
    )); // 2 ok
    line(format!(
        "h1,{v},true,false,,{},李秀英,spouse,ordinary",
        id("15042219820202002")
    )); // 3
    line(format!(
        "h1,{v},true,false,,{},NAME,child,none,false",
        id("15042220100303003")
    )); // 4 (bytes patched below)
    line(format!(
        "h1,{v},true,false,,{},王小,cousin,none,false",
        id("15042220120404005")
    )); // 5
    line(format!(
        "h1,{v},true,false,,{},王二,child,strong,false",
        id("15042220140505007")
    )); // 6
    line(format!(
        "h1,150422101002,true,false,,{},王三,child,none,false",
        id("15042220160606009")
    )); // 7
    line(format!(
        "h1,{v},true,false,,{},王四,child,none,false",
        bad_check("15042220050101011")
    )); // 8
    line(format!(
        "h1,{v},true,false,,{},王五,child,none,false",
        id("15042219900230013")
    )); // 9
    line(format!(
        "h2,999999101001,false,false,,{},张一,head,ordinary,false",
        id("15042219700101015")
    )); // 10
    line(format!(
        "h2,999999101001,false,false,,{},张二,spouse,ordinary,false",
        id("15042219710101026")
    )); // 11
    line(format!(
        "h3,522727103012,是,是,平塘县安置区,{},罗桂兰,户主,弱劳动力或半劳动力,是",
        id("52272719650505002")
    )); // 12 ok
    line(format!(
        "h3,522727103012,1,1,平塘县安置区,{},罗大,子女,技能劳动力,0",
        id("15042219800101001")
    )); // 13 dup of 2
    line(String::new()); // 14 blank
    line(format!(
        "h3,522727103012,1,1,平塘县安置区,\"{}\",\"罗\n二\",子女,普通劳动力,0",
        id("52272719900101003")
    )); // 15-16
    line(format!(
        "h3,522727103012,1,1,平塘县安置区,{existing},罗三,子女,普通劳动力,0"
    )); // 17
    line(format!(
        "h4,150422101001,true,false,,{},\"赵,四\",head,none,true",
        id("15042219400101017")
    )); // 18 ok
    let needle = b"NAME";
    let at = f.windows(4).position(|w| w == needle).unwrap();
    f.splice(at..at + 4, [0xe7, 0x8e, 0x8b, 0xff]);
    let expected = vec![
        (3, "expected 10 columns, found 9".to_owned()),
        (4, "column name: not valid UTF-8".to_owned()),
        (5, "column relation: expected one of".to_owned()),
        (6, "column labour_capacity: expected one of".to_owned()),
        (7, "household h1 is defined on line 2 with village_code \"150422101001\"; this row has \"150422101002\"".to_owned()),
        (8, "citizen_id: citizen ID check character should be".to_owned()),
        (9, "citizen_id: citizen ID birth date is invalid: 1990-02-30 is not a calendar date".to_owned()),
        (10, "village_code: county code 999999 is not a county in the division list".to_owned()),
        (11, "household h2 was rejected on line 10: village_code: county code 999999".to_owned()),
        (13, "citizen ID already appears on line 2".to_owned()),
        (15, "name: must not contain control characters".to_owned()),
        (17, "person already exists: person-".to_owned()),
    ];
    (f, expected)
}

/// Registers a person outside the import, so the file's copy of the ID is a duplicate.
async fn preexisting(client: &mut RegistryServiceClient<Channel>) -> String {
    let household_id = client
        .register_household(RegisterHouseholdRequest {
            command_id: "seed-household".into(),
            village_code: "150422101009".into(),
            poverty_alleviated: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .household_id;
    let citizen_id = id("15042219600101019");
    client
        .register_person(RegisterPersonRequest {
            command_id: "seed-person".into(),
            household_id,
            citizen_id: citizen_id.clone(),
            name: "已有".into(),
            relation: Relation::Head as i32,
            labour_capacity: LabourCapacity::Ordinary as i32,
            disabled: false,
        })
        .await
        .unwrap();
    citizen_id
}

#[tokio::test]
async fn every_bad_row_gets_its_own_reason_and_line_and_good_rows_land() {
    let fake = Fake::new(0);
    let mut client = serve(fake.clone()).await;
    let existing = preexisting(&mut client).await;
    let (file, expected) = mixed_file(&existing);
    let (summary, rejects) = run(client.clone(), &file).await;
    let summary = summary.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            rows: 15,
            households_registered: 3,
            households_replayed: 0,
            persons_registered: 3,
            persons_replayed: 0,
            rejected: 12,
        }
    );
    assert_eq!(rejects.len(), expected.len(), "{rejects:#?}");
    for ((line, reason, _), (want_line, want)) in rejects.iter().zip(&expected) {
        assert_eq!(line, want_line, "{reason}");
        assert!(
            reason.starts_with(want.as_str()),
            "line {line}: {reason:?} !~ {want:?}"
        );
    }
    let dup = &rejects.iter().find(|r| r.0 == 17).unwrap().1;
    assert!(dup.contains("person-2"), "names the existing person: {dup}");
    let raw_4 = &rejects.iter().find(|r| r.0 == 4).unwrap().2;
    assert!(
        raw_4.starts_with("h1,150422101001") && raw_4.contains('\u{fffd}'),
        "{raw_4}"
    );
    assert_eq!(
        rejects
            .iter()
            .find(|r| r.0 == 15)
            .unwrap()
            .2
            .lines()
            .count(),
        2
    );

    // Re-running the same file replays everything that landed and rejects the same rows.
    let before = fake.state.lock().unwrap().persons.len();
    let (again, rejects_again) = run(client, &file).await;
    assert_eq!(
        again.unwrap(),
        ImportSummary {
            rows: 15,
            households_registered: 0,
            households_replayed: 3,
            persons_registered: 0,
            persons_replayed: 3,
            rejected: 12,
        }
    );
    assert_eq!(rejects_again, rejects);
    assert_eq!(
        fake.state.lock().unwrap().persons.len(),
        before,
        "nothing duplicated"
    );
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let fake = Fake::new(3);
    let client = serve(fake.clone()).await;
    let (file, _) = mixed_file(&id("15042219600101019"));
    let (summary, _) = run(client, &file).await;
    let summary = summary.unwrap();
    assert_eq!(
        summary.persons_registered, 4,
        "the pre-existing ID is new here"
    );
    assert_eq!(summary.rejected, 11);
    assert_eq!(fake.failures.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn persistent_failure_aborts_without_rejecting_rows() {
    let fake = Fake::new(u32::MAX);
    let client = serve(fake.clone()).await;
    let file = format!(
        "{HEADER}h1,150422101001,true,false,,{},王建国,head,ordinary,false\n",
        id("15042219800101001")
    );
    let (result, rejects) = run(client, file.as_bytes()).await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("Unavailable") && err.contains("registering household h1"),
        "{err}"
    );
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        6,
        "first attempt and 5 retries"
    );
}

#[tokio::test]
async fn unreachable_registry_aborts() {
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let file = format!(
        "{HEADER}h1,150422101001,true,false,,{},王建国,head,ordinary,false\nbad,row\n",
        id("15042219800101001")
    );
    let (result, rejects) = run(RegistryServiceClient::new(channel), file.as_bytes()).await;
    assert!(result.is_err());
    assert_eq!(
        rejects.len(),
        1,
        "only the locally malformed row: {rejects:?}"
    );
    assert_eq!(rejects[0].0, 3);
}

#[tokio::test]
async fn local_rejects_need_no_server() {
    // Every row is malformed, so no call is made to the (unreachable) registry.
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let client = RegistryServiceClient::new(channel);
    let file =
        format!("\u{feff}{HEADER}a,1\n\na,1,true,false,,x,n,head,none\n\"q\",1,2,3,4,5,6,7,8,9\n");
    let (summary, rejects) = run(client, file.as_bytes()).await;
    assert_eq!(
        summary.unwrap(),
        ImportSummary {
            rows: 3,
            rejected: 3,
            ..ImportSummary::default()
        }
    );
    let lines: Vec<u64> = rejects.iter().map(|r| r.0).collect();
    assert_eq!(lines, [2, 4, 5]);
    assert_eq!(rejects[0].1, "expected 10 columns, found 2");
    assert_eq!(rejects[1].1, "expected 10 columns, found 9");
    assert!(
        rejects[2].1.starts_with("column poverty_alleviated"),
        "{}",
        rejects[2].1
    );
    assert_eq!(rejects[2].2, "\"q\",1,2,3,4,5,6,7,8,9");
}

/// A household none of whose rows can land is not registered, even by the unary path (which
/// registers a household before its members): names are checked with the registry's rule first.
#[tokio::test]
async fn a_household_whose_only_name_is_refused_is_never_sent() {
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let client = RegistryServiceClient::new(channel);
    let long = "王".repeat(51);
    let file = format!(
        "{HEADER}h1,150422101001,1,0,,{},{long},head,none,0\nh2,150422101001,1,0,,{},罗\t二,head,none,0\n",
        id("15042219800101001"),
        id("15042219800101002"),
    );
    let (summary, rejects) = run(client, file.as_bytes()).await;
    assert_eq!(
        summary.unwrap(),
        ImportSummary {
            rows: 2,
            rejected: 2,
            ..ImportSummary::default()
        }
    );
    assert_eq!(rejects[0].0, 2);
    assert_eq!(rejects[0].1, "name: must have 1 to 50 characters, found 51");
    assert_eq!(rejects[1].0, 3);
    assert_eq!(rejects[1].1, "name: must not contain control characters");
}

#[tokio::test]
async fn header_is_required() {
    let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    let client = RegistryServiceClient::new(channel);
    let err = import_csv(client.clone(), &b""[..], Vec::new(), &options())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("header row is required"), "{err}");
    let no_header = format!(
        "h1,150422101001,true,false,,{},王,head,none,false\n",
        id("15042219800101001")
    );
    let err = import_csv(client, no_header.as_bytes(), Vec::new(), &options())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 1: expected the header row"),
        "{err}"
    );
}

#[tokio::test]
async fn a_generated_population_imports_without_rejects() {
    let catalog = DivisionCatalog::from_tsv(DIVISIONS).unwrap();
    let key = KeyCounties::from_tsv(KEY_COUNTIES).unwrap();
    let population = crate::generate(9, 300, &catalog, &key, today());
    let client = serve(Fake::new(0)).await;
    let (summary, rejects) = run(client, &population.to_csv()).await;
    let summary = summary.unwrap();
    assert!(rejects.is_empty(), "{rejects:#?}");
    assert_eq!(
        summary.households_registered as i64,
        population.expected.households
    );
    assert_eq!(
        summary.persons_registered as i64,
        population.expected.persons
    );
}

/// A renamed copy of an imported file replays: command ids come from the rows, not the file name.
#[tokio::test]
async fn a_renamed_copy_replays_instead_of_registering_again() {
    let catalog = DivisionCatalog::from_tsv(DIVISIONS).unwrap();
    let key = KeyCounties::from_tsv(KEY_COUNTIES).unwrap();
    let population = crate::generate(11, 40, &catalog, &key, today());
    let client = serve(Fake::new(0)).await;
    let (first, _) = run(client.clone(), &population.to_csv()).await;
    let first = first.unwrap();
    let copy = ImportOptions {
        source_name: "copy of test.csv".into(),
        ..options()
    };
    let again = import_csv(client, &population.to_csv()[..], Vec::new(), &copy)
        .await
        .unwrap();
    assert_eq!(again.households_registered, 0, "{again:?}");
    assert_eq!(again.households_replayed, first.households_registered);
    assert_eq!(again.persons_registered, 0);
    assert_eq!(again.persons_replayed, first.persons_registered);
    assert_eq!(again.rejected, 0);
}

#[test]
fn summary_invariant_and_display() {
    let summary = ImportSummary {
        rows: 10,
        households_registered: 2,
        households_replayed: 1,
        persons_registered: 6,
        persons_replayed: 3,
        rejected: 1,
    };
    assert!(summary.is_consistent());
    assert!(!ImportSummary {
        rejected: 0,
        ..summary
    }
    .is_consistent());
    let text = summary.to_string();
    let first: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(first, ["rows", "read", "10"], "{text}");
    assert!(text.contains("6 registered, 3 replayed"), "{text}");
    assert!(text.contains("see the reject file"), "{text}");
}

#[test]
fn an_endpoint_that_is_no_registry_leaves_the_reject_file_untouched() {
    let mut rejects = vec![Reject {
        line: 3,
        reason: "citizen_id: bad check character".into(),
        raw: "x".into(),
    }];
    let mut out = Vec::new();
    let e = finish(
        &mut out,
        &mut rejects,
        Some(anyhow::Error::new(crate::rpc::NotARegistry)),
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("does not run the registry service"));
    assert!(out.is_empty());
    // Any other failure keeps the rejects found so far, and says the import can be resumed.
    let e = finish(&mut out, &mut rejects, Some(anyhow::anyhow!("unavailable"))).unwrap_err();
    assert!(format!("{e:#}").contains("running it again resumes"));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "line,reason,raw_line\n3,citizen_id: bad check character,x\n"
    );
}
