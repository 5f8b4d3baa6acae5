#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! A seeded city behind the real router, with one account of every kind, for HTTP tests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use domain::{OtpCode, Password, Phone, Role, Username};
use http_body_util::BodyExt;
use moralbank_store::fixtures::city::SeedReport;
use moralbank_store::testing::TestDb;
use moralbank_store::{NewStaff, Store, SubjectKind};
use moralbank_web::clock::ManualClock;
use moralbank_web::{app, AppState, Ledger, OtpSender, WebConfig};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// Keeps the last code sent to each phone, as a phone would.
#[derive(Default)]
pub struct Inbox(pub Mutex<Vec<(String, String)>>);

impl OtpSender for Inbox {
    fn send(&self, phone: &Phone, code: &OtpCode, _: domain::OtpPurpose) -> Result<(), String> {
        self.0
            .lock()
            .expect("inbox")
            .push((phone.as_str().to_string(), code.as_str().to_string()));
        Ok(())
    }
}

impl Inbox {
    pub fn last_for(&self, phone: &str) -> Option<String> {
        self.0
            .lock()
            .expect("inbox")
            .iter()
            .rev()
            .find(|(p, _)| p == phone)
            .map(|(_, c)| c.clone())
    }
}

pub struct Account {
    pub id: String,
    pub token: String,
    pub csrf: String,
}

pub struct World {
    pub db: TestDb,
    pub store: Store,
    pub app: Router,
    pub ledger: Ledger,
    /// The log's verifier key.
    pub vkey: String,
    pub state: AppState,
    /// The app's clock: tests move it forward.
    pub clock: Arc<ManualClock>,
    pub inbox: Arc<Inbox>,
    pub city: SeedReport,
    pub partner_id: String,
    pub api_key: String,
    pub staff: Vec<(Role, Account)>,
    /// A seeded citizen in the first village (citizen 0) and one elsewhere.
    pub citizen: Account,
    pub citizen_phone: String,
    pub far_citizen_id: String,
    /// The partner bank, its operator (a partner operator of the bank) and its API key
    /// (`partner:read credit:read loans:write`).
    pub bank_id: String,
    pub bank_operator: Account,
    pub bank_key: String,
    /// A volunteer alliance trusted for the hours standard, and two of its operators (hours by
    /// hand need a second approver).
    pub alliance_id: String,
    pub alliance_operator: Account,
    pub alliance_second: Account,
}

pub const PASSWORD: &str = "correct horse battery";

impl World {
    pub async fn sqlite() -> World {
        World::build(TestDb::sqlite().await).await
    }

    pub async fn postgres() -> Option<World> {
        Some(World::build(TestDb::postgres().await?).await)
    }

    pub async fn build(db: TestDb) -> World {
        let store = db.store.clone();
        let city = store.fixtures().seed_city(200, 11).await.expect("seed");
        store
            .evaluation()
            .ensure_default_standards("staff:test")
            .await
            .expect("standards");
        let partner = store
            .accounts()
            .create_partner("余姚市图书馆", "library")
            .await
            .expect("partner");
        let (_, api_key) = store
            .accounts()
            .create_api_key(
                &partner.id,
                &["regions:read".into(), "partner:read".into()],
                "test",
            )
            .await
            .expect("key");
        let mut staff = Vec::new();
        for role in Role::ALL {
            let (region, partner_id) = match role {
                Role::Evaluator => (Some(city.first_village_id.clone()), None),
                Role::TownReviewer => (Some(city.first_town_id.clone()), None),
                Role::PartnerOperator => (None, Some(partner.id.clone())),
                _ => (None, None),
            };
            let s = store
                .accounts()
                .create_staff(&NewStaff {
                    username: Username::parse(role.as_str().replace('_', "-").as_str())
                        .expect("username"),
                    display_name: format!("{} 测试", role.as_str()),
                    password: Password::parse(PASSWORD).expect("password"),
                    role,
                    region_id: region,
                    partner_id,
                })
                .await
                .expect("staff");
            let (token, session) = store
                .accounts()
                .create_session(SubjectKind::Staff, &s.id, 3_600_000)
                .await
                .expect("session");
            staff.push((
                role,
                Account {
                    id: s.id,
                    token,
                    csrf: session.csrf_token,
                },
            ));
        }
        let bank = store
            .accounts()
            .create_partner("余姚农村商业银行", "bank")
            .await
            .expect("bank");
        let (_, bank_key) = store
            .accounts()
            .create_api_key(
                &bank.id,
                &[
                    "partner:read".into(),
                    "credit:read".into(),
                    "loans:write".into(),
                ],
                "test",
            )
            .await
            .expect("bank key");
        let operator = store
            .accounts()
            .create_staff(&NewStaff {
                username: Username::parse("bank-clerk").expect("username"),
                display_name: "信贷员 测试".into(),
                password: Password::parse(PASSWORD).expect("password"),
                role: Role::PartnerOperator,
                region_id: None,
                partner_id: Some(bank.id.clone()),
            })
            .await
            .expect("bank operator");
        let (op_token, op_session) = store
            .accounts()
            .create_session(SubjectKind::Staff, &operator.id, 3_600_000)
            .await
            .expect("session");
        let alliance = store
            .accounts()
            .create_partner("余姚市邻里守望志愿服务联盟", "volunteer_alliance")
            .await
            .expect("alliance");
        store
            .evaluation()
            .trust_partners(
                "volunteer-hour",
                std::slice::from_ref(&alliance.id),
                "staff:test",
            )
            .await
            .expect("trust");
        let mut organisers = Vec::new();
        for name in ["alliance-clerk", "alliance-second"] {
            let s = store
                .accounts()
                .create_staff(&NewStaff {
                    username: Username::parse(name).expect("username"),
                    display_name: format!("{name} 测试"),
                    password: Password::parse(PASSWORD).expect("password"),
                    role: Role::PartnerOperator,
                    region_id: None,
                    partner_id: Some(alliance.id.clone()),
                })
                .await
                .expect("alliance operator");
            let (token, session) = store
                .accounts()
                .create_session(SubjectKind::Staff, &s.id, 3_600_000)
                .await
                .expect("session");
            organisers.push(Account {
                id: s.id,
                token,
                csrf: session.csrf_token,
            });
        }
        let alliance_second = organisers.pop().expect("two");
        let alliance_operator = organisers.pop().expect("two");
        let (phone, _) = moralbank_store::fixtures::city::demo_identity(0);
        let cid = store
            .registry()
            .citizen_id_by_phone(&phone)
            .await
            .expect("lookup")
            .expect("citizen 0");
        let (token, session) = store
            .accounts()
            .create_session(SubjectKind::Citizen, &cid, 3_600_000)
            .await
            .expect("session");
        // Someone outside the first town, to test scope.
        let mut far_citizen_id = String::new();
        for i in 1..200 {
            let (p, _) = moralbank_store::fixtures::city::demo_identity(i);
            let id = store
                .registry()
                .citizen_id_by_phone(&p)
                .await
                .expect("lookup")
                .expect("seeded");
            if !store
                .registry()
                .citizen_in_scope(
                    &id,
                    &moralbank_store::Scope::Town(city.first_town_id.clone()),
                )
                .await
                .expect("scope")
            {
                far_citizen_id = id;
                break;
            }
        }
        assert!(!far_citizen_id.is_empty());
        let inbox = Arc::new(Inbox::default());
        let config = WebConfig {
            cookie_secure: false,
            login_attempts_per_minute: 1000,
            ..WebConfig::default()
        };
        let (skey, vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
        let ledger = Ledger::start(
            &store,
            moralbank_ledger::LogKey::from_private(&skey).expect("key"),
            vkey.clone(),
            vec![],
            Default::default(),
        )
        .await
        .expect("ledger");
        let clock = Arc::new(ManualClock::new(moralbank_store::now_ms()));
        let state = AppState::new(store.clone(), config, inbox.clone(), ledger.clone())
            .with_clock(clock.clone())
            .with_codes(test_issuer())
            .with_credit(test_credit_issuer());
        let app = app(state.clone());
        World {
            db,
            store,
            app,
            ledger,
            vkey,
            state,
            clock,
            inbox,
            city,
            partner_id: partner.id,
            api_key,
            staff,
            citizen: Account {
                id: cid,
                token,
                csrf: session.csrf_token,
            },
            citizen_phone: phone.as_str().to_string(),
            far_citizen_id,
            bank_id: bank.id,
            bank_operator: Account {
                id: operator.id,
                token: op_token,
                csrf: op_session.csrf_token,
            },
            bank_key,
            alliance_id: alliance.id,
            alliance_operator,
            alliance_second,
        }
    }

    /// Link a committee member (evaluator of the first village, or reviewer of the first town) to
    /// a new resident of the first village in a household of their own: members vote only once
    /// linked, so recusal can be checked. `n` tells the new residents apart.
    pub async fn link_member(&self, staff_id: &str, n: u64) -> String {
        let (citizen_id, _) = self.villager(n).await;
        self.store
            .evaluation()
            .link_staff_citizen(staff_id, Some(&citizen_id), false)
            .await
            .expect("link");
        citizen_id
    }

    /// Enrol a new resident of the first village in a household of their own, confirmed (like a
    /// seeded one); returns their id and resident ID number.
    pub async fn villager(&self, n: u64) -> (String, String) {
        let (phone, rid) = moralbank_store::fixtures::city::demo_identity(700_000 + n);
        let rid_text = rid.as_str().to_string();
        let enrolled = self
            .store
            .enrol_confirmed_for_tests(&moralbank_store::NewCitizen {
                name: domain::PersonName::parse("王五强").expect("name"),
                resident_id: rid,
                phone,
                village_id: self.city.first_village_id.clone(),
                household: moralbank_store::HouseholdChoice::New,
                consent: domain::ConsentVersion::parse_current(
                    domain::ENROLMENT_CONSENT_VERSION,
                    domain::ENROLMENT_CONSENT_VERSION,
                )
                .expect("consent"),
            })
            .await;
        (enrolled.citizen_id, rid_text)
    }

    /// Enrol over the API, both steps: the details (a code goes to the phone), then the same
    /// details with the code from the inbox. The second step's answer.
    pub async fn enrol_api(&self, body: &serde_json::Value) -> (StatusCode, serde_json::Value) {
        let (status, sent) = self
            .api("POST", "/enrolments", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
        let phone = body["phone"].as_str().expect("phone");
        let code = self.inbox.last_for(phone).expect("a code was sent");
        let mut with_code = body.clone();
        with_code["code"] = serde_json::json!(code);
        self.api("POST", "/enrolments", None, Some(with_code)).await
    }

    pub fn staff(&self, role: Role) -> &Account {
        &self.staff.iter().find(|(r, _)| *r == role).expect("role").1
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = self.app.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"));
        if let Some(b) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let (status, headers, text) = self.send(req).await;
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                headers
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap_or("")),
                Some("application/problem+json"),
                "{method} {path}: {status} {text}"
            );
        }
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A GET of a JSON route outside `/api/v1` (the public log), anonymous.
    pub async fn api_root(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let (status, headers, text) = self.send(req).await;
        if !status.is_success() {
            assert_eq!(
                headers
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap_or("")),
                Some("application/problem+json"),
                "{path}: {status} {text}"
            );
        }
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A page request with a session cookie (and CSRF token for forms).
    pub async fn page(
        &self,
        method: &str,
        path: &str,
        session: Option<&Account>,
        form: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = session {
            req = req.header(header::COOKIE, format!("mb_session={}", a.token));
        }
        let body = if method == "POST" {
            let mut pairs: Vec<(String, String)> = form
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(a) = session {
                if !form.iter().any(|(k, _)| *k == "csrf") {
                    pairs.push(("csrf".into(), a.csrf.clone()));
                }
            }
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(serde_urlencoded_pairs(&pairs))
        } else {
            Body::empty()
        };
        self.send(req.body(body).expect("request")).await
    }
}

fn serde_urlencoded_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A moral-code issuer with a fresh key and the default tiers.
pub fn test_issuer() -> moralbank_web::code::CodeIssuer {
    let key = moralbank_code::IssuerKey::generate();
    let published = moralbank_code::KeySet::new(vec![key.public()]).expect("key set");
    moralbank_web::code::CodeIssuer {
        key: Arc::new(key),
        published: Arc::new(published),
        issuer: moralbank_code::Issuer::parse("test.moralbank.example").expect("issuer"),
        lifetimes: moralbank_code::Lifetimes::default(),
        tiers: Arc::new(domain::tier::DEFAULT_THRESHOLDS.to_vec()),
    }
}

/// A credit report issuer with a fresh key of its own and the default tiers.
pub fn test_credit_issuer() -> moralbank_web::credit::CreditIssuer {
    let key = moralbank_code::IssuerKey::generate();
    let published = moralbank_code::KeySet::new(vec![key.public()]).expect("key set");
    moralbank_web::credit::CreditIssuer {
        key: Arc::new(key),
        published: Arc::new(published),
        issuer: "test.moralbank.example".into(),
        tiers: Arc::new(domain::tier::DEFAULT_THRESHOLDS.to_vec()),
        writer: None,
    }
}

/// A valid resident ID number that the seeded city does not use.
pub fn fresh_identity(n: u64) -> (String, String) {
    let (p, r) = moralbank_store::fixtures::city::demo_identity(500_000 + n);
    (p.as_str().to_string(), r.as_str().to_string())
}
