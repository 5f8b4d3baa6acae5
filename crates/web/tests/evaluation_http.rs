#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Evaluation through the API on SQLite and PostgreSQL, with the app's clock moved forward: a
//! resident reports, two committee members approve, publicity passes, the points arrive in the
//! ledger with a verifiable receipt; an objection upheld; an appeal reversed by the town.

mod common;

use axum::http::StatusCode;
use common::World;
use domain::{Password, Role, Username};
use moralbank_store::{NewStaff, SubjectKind};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

/// Two more members for the first village's committee (three in all), with their tokens.
async fn committee(w: &World) -> Vec<String> {
    let mut tokens = vec![w.staff(Role::Evaluator).token.clone()];
    w.link_member(&w.staff(Role::Evaluator).id, 1).await;
    w.link_member(&w.staff(Role::TownReviewer).id, 4).await;
    for i in 2..=3 {
        let s = w
            .store
            .accounts()
            .create_staff(&NewStaff {
                username: Username::parse(&format!("member-{i}")).unwrap(),
                display_name: format!("委员{i}"),
                password: Password::parse(common::PASSWORD).unwrap(),
                role: Role::Evaluator,
                region_id: Some(w.city.first_village_id.clone()),
                partner_id: None,
            })
            .await
            .unwrap();
        w.link_member(&s.id, i).await;
        let (t, _) = w
            .store
            .accounts()
            .create_session(SubjectKind::Staff, &s.id, 3_600_000)
            .await
            .unwrap();
        tokens.push(t);
    }
    tokens
}

fn today(w: &World) -> String {
    use moralbank_web::clock::Clock;
    moralbank_store::day_of(w.clock.now_ms())
}

async fn report(w: &World, standard: &str) -> Value {
    let body = json!({ "standard": standard, "deed_date": today(w), "place": "东山社区", "description": "帮助邻居修理漏雨的屋顶" });
    let (s, d) = w
        .api("POST", "/deeds", Some(&w.citizen.token), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    d
}

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or("")
}

async fn a_reported_deed_is_voted_published_and_credited_with_a_receipt(w: World) {
    let members = committee(&w).await;
    let d = report(&w, "neighbourly-help").await;
    let id = d["id"].as_str().unwrap();
    assert_eq!(d["status"], "review");
    let (s, q) = w
        .api("GET", "/committee/queue", Some(&members[1]), None)
        .await;
    assert_eq!(
        (s, q["items"][0]["deed"]["id"].as_str()),
        (StatusCode::OK, Some(id))
    );
    // A resident cannot vote; a member votes once; a reason is needed to reject.
    let (s, _) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&w.citizen.token),
            Some(json!({"approve": true, "points": 10})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[0]),
            Some(json!({"approve": false})),
        )
        .await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason_required")
    );
    let (s, v) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[0]),
            Some(json!({"approve": true, "points": 12})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("review")));
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[0]),
            Some(json!({"approve": true, "points": 12})),
        )
        .await;
    assert_eq!((s, code(&p)), (StatusCode::CONFLICT, "already_voted"));
    let (_, v) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[1]),
            Some(json!({"approve": true, "points": 15})),
        )
        .await;
    assert_eq!(v["status"], "publicity");
    // The public board: masked name, no ids of people.
    let (s, board) = w
        .api(
            "GET",
            &format!("/villages/{}/publicity", w.city.first_village_id),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let item = &board["items"][0];
    assert_eq!(
        (item["id"].as_str(), item["points"].as_i64()),
        (Some(id), Some(12))
    );
    assert!(
        item.get("citizen_id").is_none() && item["name_masked"].as_str().unwrap().contains('*'),
        "{item}"
    );
    assert!(
        board["next_cursor"].is_null(),
        "one deed: the last page {board}"
    );
    // A page starts after the cursor the previous page handed out; anything else is refused.
    let after = format!("{}_{id}", item["publicity_ends_at"]);
    let (s, rest) = w
        .api(
            "GET",
            &format!(
                "/villages/{}/publicity?cursor={after}",
                w.city.first_village_id
            ),
            None,
            None,
        )
        .await;
    assert_eq!(
        (s, rest["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (s, bad) = w
        .api(
            "GET",
            &format!(
                "/villages/{}/publicity?cursor=12_x",
                w.city.first_village_id
            ),
            None,
            None,
        )
        .await;
    assert_eq!(
        (s, bad["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")),
        "{bad}"
    );
    // The page pages the same way: a next link only when there is more, a way back to the start.
    let board_url = format!("/board/{}", w.city.first_village_id);
    let (s, _, html) = w.page("GET", &board_url, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("board-{id}")) && !html.contains("board-next"));
    let (s, _, html) = w
        .page("GET", &format!("{board_url}?cursor={after}"), None, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("board-empty") && html.contains("board-first"));
    let (s, _, _) = w
        .page("GET", &format!("{board_url}?cursor=12_x"), None, &[])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Before the end nothing is credited; after it, once.
    w.clock.advance(6 * DAY);
    assert_eq!(w.state.credit_due_deeds().await.unwrap().credited, 0);
    w.clock.advance(2 * DAY);
    assert_eq!(w.state.credit_due_deeds().await.unwrap().credited, 1);
    assert_eq!(w.state.credit_due_deeds().await.unwrap().credited, 0);
    let (_, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    let e = &entries["items"][0];
    assert_eq!(
        (e["amount"].as_i64(), e["rule"].as_str()),
        (Some(12), Some("standard:neighbourly-help@1"))
    );
    assert_eq!(
        e["reference"], "deed",
        "the public log does not name the deed"
    );
    let (s, h, _) = w
        .page(
            "GET",
            &format!("/me/entries/{}/deed", e["index"]),
            Some(&w.citizen),
            &[],
        )
        .await;
    assert_eq!(
        (s, h[axum::http::header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, format!("/deeds/{id}").as_str())
    );
    let (s, r) = w
        .api(
            "GET",
            &format!("/me/entries/{}/receipt", e["index"]),
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The public leaf (what the log and its tiles publish) carries nothing the board shows: not
    // the deed's id, nor its place or description; the receipt still verifies.
    use base64::Engine as _;
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(r["entry"].as_str().unwrap())
        .unwrap();
    let leaf = String::from_utf8(leaf).unwrap();
    assert!(!leaf.contains(id) && !leaf.contains("东山社区"), "{leaf}");
    moralbank_ledger::verify_receipt(&serde_json::from_value(r).unwrap(), &w.vkey).unwrap();
    // The explanation behind the entry, for the resident; not for another resident.
    let (s, detail) = w
        .api("GET", &format!("/deeds/{id}"), Some(&w.citizen.token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["deed"]["status"], "credited");
    assert_eq!(detail["votes"].as_array().unwrap().len(), 2);
    let (s, _) = w
        .api(
            "GET",
            &format!("/deeds/{id}"),
            Some(&w.staff(Role::PartnerOperator).token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, inbox) = w.api("GET", "/inbox", Some(&w.citizen.token), None).await;
    assert_eq!(inbox["items"][0]["kind"], "deed_credited");
    // Partners need the deeds:submit scope.
    let (s, _) = w.api("POST", "/partner/deeds", Some(&w.api_key), Some(json!({"citizen_id": w.citizen.id, "standard": "blood-donation", "deed_date": today(&w), "place": "血站", "description": "献血"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn an_objection_upheld_means_no_points_and_an_appeal_can_reverse_it(w: World) {
    let members = committee(&w).await;
    let d = report(&w, "environment").await;
    let id = d["id"].as_str().unwrap().to_string();
    for m in &members[..2] {
        w.api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(m),
            Some(json!({"approve": true, "points": 5})),
        )
        .await;
    }
    // Another resident objects; the committee upholds it in a new round.
    let (other_phone, _) = moralbank_store::fixtures::city::demo_identity(1);
    let other = w
        .store
        .registry()
        .citizen_id_by_phone(&other_phone)
        .await
        .unwrap()
        .unwrap();
    let (token, session) = w
        .store
        .accounts()
        .create_session(SubjectKind::Citizen, &other, 3_600_000)
        .await
        .unwrap();
    let objector = common::Account {
        id: other.clone(),
        token: token.clone(),
        csrf: session.csrf_token,
    };
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/objections"),
            Some(&token),
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!((s, code(&p)), (StatusCode::UNPROCESSABLE_ENTITY, "missing"));
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/objections"),
            Some(&w.citizen.token),
            Some(json!({"reason": "我自己的"})),
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str(), code(&p)),
        (StatusCode::CONFLICT, Some("deed"), "own_deed"),
        "nobody objects to their own deed"
    );
    let (s, _) = w
        .api(
            "POST",
            &format!("/deeds/{id}/objections"),
            Some(&token),
            Some(json!({"reason": "当天活动取消了"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for m in &members[..2] {
        w.api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(m),
            Some(json!({"approve": false, "comment": "核实属实：活动取消"})),
        )
        .await;
    }
    // The objector hears the outcome; their inbox page does not link a deed they cannot open.
    let (_, inbox) = w.api("GET", "/inbox", Some(&token), None).await;
    assert_eq!(inbox["items"][0]["kind"], "objection_upheld", "{inbox}");
    let (s, _, html) = w.page("GET", "/me/inbox", Some(&objector), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("您提出的异议成立"), "{html}");
    assert!(!html.contains(&format!("/deeds/{id}")));
    w.clock.advance(8 * DAY);
    w.state.credit_due_deeds().await.unwrap();
    let (_, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    assert!(
        entries["items"].as_array().unwrap().is_empty(),
        "no points after an upheld objection"
    );
    // The resident appeals within 15 days; the town reverses; publicity; credited.
    let (s, _) = w
        .api(
            "POST",
            &format!("/deeds/{id}/appeal"),
            Some(&w.citizen.token),
            Some(json!({"reason": "活动改期举行，附新照片"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/appeal"),
            Some(&w.citizen.token),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!((s, code(&p)), (StatusCode::CONFLICT, "already_appealed"));
    let reviewer = w.staff(Role::TownReviewer).token.clone();
    let (s, q) = w.api("GET", "/town/appeals", Some(&reviewer), None).await;
    assert_eq!(
        (s, q["items"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (s, v) = w
        .api(
            "POST",
            &format!("/deeds/{id}/appeal-decision"),
            Some(&reviewer),
            Some(json!({"reverse": true, "points": 6, "comment": "改期属实"})),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("publicity"))
    );
    w.clock.advance(8 * DAY);
    assert_eq!(w.state.credit_due_deeds().await.unwrap().credited, 1);
    let (_, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    assert_eq!(entries["items"][0]["amount"], 6);
}

async fn partners_submit_a_file_of_deeds_whole_or_not_at_all(w: World) {
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "bulk")
        .await
        .unwrap();
    let day = today(&w);
    let cid = &w.citizen.id;
    // Blood donations skip the committee only from a partner the standard trusts.
    let one = json!({"citizen_id": cid, "standard": "blood-donation", "deed_date": day, "place": "血站", "description": "献血"});
    let submit = |body: Value, key: &'static str| {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/partner/deeds")
            .header("authorization", format!("Bearer {secret}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        w.send(req)
    };
    let (s, _, text) = submit(one.clone(), "one-1").await;
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (s, p["errors"][0]["field"].as_str(), code(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("standard"),
            "untrusted_partner"
        ),
        "{p}"
    );
    let admin = w.staff(Role::Admin).token.clone();
    let (_, catalogue) = w.api("GET", "/standards", None, None).await;
    for code_ in ["blood-donation", "volunteer-hour"] {
        let mut std = catalogue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == code_)
            .unwrap()
            .clone();
        let o = std.as_object_mut().unwrap();
        for k in ["id", "version", "created_at"] {
            o.remove(k);
        }
        o.insert("trusted_partners".into(), json!([w.partner_id]));
        let (s, v) = w.api("POST", "/standards", Some(&admin), Some(std)).await;
        assert_eq!(
            (s, v["trusted_partners"][0].as_str()),
            (StatusCode::CREATED, Some(w.partner_id.as_str())),
            "{v}"
        );
    }
    let (s, _, text) = submit(one, "one-1").await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    // A file with a bad row imports nothing and names the bad cell.
    let header = "key,citizen_id,standard,deed_date,place,description,points";
    let good = format!(
        "d-1,{cid},blood-donation,{day},血站,无偿献血 200 毫升,\nd-3,{cid},volunteer-hour,{day},\"社区, 东门\",\"服务 \"\"敬老\"\"\",2\n"
    );
    let bad = format!("{header}\n{good}d-2,{cid},no-such,{day},血站,x,\n");
    let send = |body: String| {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/partner/deeds/bulk")
            .header("authorization", format!("Bearer {secret}"))
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(body))
            .unwrap();
        w.send(req)
    };
    let (_, mine) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    let before = mine["items"].as_array().unwrap().len();
    let (s, _, text) = send(bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            v["problems"][0]["cell"].as_str(),
            v["problems"][0]["code"].as_str()
        ),
        (Some("C4"), Some("unknown_standard")),
        "{v}"
    );
    assert_eq!(v["rows"]["refused"], 1);
    let (_, mine) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        before,
        "nothing half-imported"
    );
    // Without it the file is committed whole.
    let csv = format!("{header}\n{good}");
    let (s, _, text) = send(csv.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let r = v["results"].as_array().unwrap();
    assert_eq!(
        (r[0]["outcome"].as_str(), r[0]["status"].as_str()),
        (Some("new"), Some("publicity")),
        "{v}"
    );
    assert_eq!(
        (r[1]["line"].as_u64(), r[1]["key"].as_str()),
        (Some(3), Some("d-3"))
    );
    // The same file again creates nothing new.
    let (s, _, again) = send(csv).await;
    assert_eq!(s, StatusCode::OK);
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["already_imported"], true);
    assert_eq!(again["results"][0]["record_id"], r[0]["record_id"]);
    let (s, _, text) = send("who,what\n1,2\n".into()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(
        text.contains("unknown_column") && text.contains("missing_column"),
        "{text}"
    );
}

/// The admin links a member to their resident record; from then on the member cannot vote on a
/// deed of their own household.
async fn a_linked_member_is_recused_from_their_households_deeds(w: World) {
    let members = committee(&w).await;
    let admin = w.staff(Role::Admin).token.clone();
    let (_, rid) = moralbank_store::fixtures::city::demo_identity(0);
    let evaluator = w.staff(Role::Evaluator).id.clone();
    let (s, v) = w
        .api(
            "POST",
            &format!("/staff/{evaluator}/resident"),
            Some(&admin),
            Some(json!({"resident_id": rid.as_str(), "chair": true})),
        )
        .await;
    assert_eq!(
        (s, v["linked"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    let (s, p) = w
        .api(
            "POST",
            &format!("/staff/{evaluator}/resident"),
            Some(&admin),
            Some(json!({"resident_id": "110101199003070000"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let d = report(&w, "neighbourly-help").await;
    let id = d["id"].as_str().unwrap();
    let (s, p) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[0]),
            Some(json!({"approve": true, "points": 5})),
        )
        .await;
    assert_eq!((s, code(&p)), (StatusCode::CONFLICT, "recused"));
    let (s, _) = w
        .api(
            "POST",
            &format!("/deeds/{id}/votes"),
            Some(&members[1]),
            Some(json!({"approve": true, "points": 5})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// Evidence is encrypted on disk; a withdrawal deletes the files of the resident's deeds, and
/// the sweep removes files no deed refers to once they are old enough.
async fn evidence_is_encrypted_and_goes_with_a_withdrawal_or_when_unreferenced(w: World) {
    use moralbank_web::evaluation::evidence;
    let dir = tempfile::tempdir().unwrap();
    let state = w.state.clone().with_evidence_dir(dir.path().to_path_buf());
    let vault = w.store.vault();
    let photo = b"\x89PNG\r\n\x1a\n a photo of the roof";
    let e = evidence::store(dir.path(), vault, photo).await.unwrap();
    let orphan = evidence::store(dir.path(), vault, b"%PDF-1.7 a refused report's file")
        .await
        .unwrap();
    let new = moralbank_store::evaluation::NewDeed {
        citizen_id: w.citizen.id.clone(),
        reporter: moralbank_store::evaluation::Reporter::Citizen(w.citizen.id.clone()),
        standard_code: "neighbourly-help".into(),
        deed_date: today(&w),
        place: "东山社区".into(),
        description: "帮助邻居修理漏雨的屋顶".into(),
        evidence: vec![e.clone()],
        points: None,
    };
    w.store
        .evaluation()
        .report_deed(&new, &w.state.rules, {
            use moralbank_web::clock::Clock;
            w.clock.now_ms()
        })
        .await
        .unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !raw.windows(photo.len()).any(|x| x == photo),
            "encrypted at rest"
        );
    }
    assert_eq!(
        evidence::read(dir.path(), vault, &e.sha256).await.unwrap(),
        photo
    );
    let referenced = w.store.registry().evidence_hashes().await.unwrap();
    assert!(referenced.contains(&e.sha256) && !referenced.contains(&orphan.sha256));
    // The sweep spares young files (a report may still be saving them), then removes them.
    assert_eq!(state.sweep_evidence().await.unwrap(), 0);
    assert_eq!(
        evidence::sweep(dir.path(), vault, &referenced, std::time::Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert!(evidence::read(dir.path(), vault, &orphan.sha256)
        .await
        .is_err());
    // Withdrawal: the resident's evidence rows and files go; the deed itself stays.
    state.withdraw(&w.citizen.id).await.unwrap();
    assert!(evidence::read(dir.path(), vault, &e.sha256).await.is_err());
    assert!(w
        .store
        .registry()
        .evidence_hashes()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A resident finds their village's public board from their home page, and the report page
/// states the publicity period the server is configured with.
async fn the_home_page_links_the_village_board_and_the_report_page_names_the_period(mut w: World) {
    let (s, _, html) = w.page("GET", "/me", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let link = format!("href=\"/board/{}\"", w.city.first_village_id);
    assert!(html.contains(&link), "no board link on /me");
    let (s, _, _) = w
        .page(
            "GET",
            &format!("/board/{}", w.city.first_village_id),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the board is public");
    let (_, _, html) = w.page("GET", "/deeds/new", Some(&w.citizen), &[]).await;
    assert!(html.contains("公示7天"), "default period");
    w.app = moralbank_web::app(
        w.state
            .clone()
            .with_rules(moralbank_store::evaluation::Rules {
                publicity_ms: 3 * DAY,
                ..Default::default()
            }),
    );
    let (s, _, html) = w.page("GET", "/deeds/new", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("公示3天") && !html.contains("公示7天"),
        "configured period"
    );
}

/// A `multipart/form-data` body: the deed's JSON in the part `deed`, then each file as a part
/// named `name` (`evidence` for the API).
fn multipart(deed: &Value, files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "mb-test-boundary-7d1c";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"deed\"\r\nContent-Type: application/json\r\n\r\n{deed}\r\n"
        )
        .as_bytes(),
    );
    for (i, (name, bytes)) in files.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f{i}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Partners and residents attach photos or PDFs to a deed over the API (multipart, the JSON in
/// a part), with the report page's checks; a refused upload creates no deed, and a retry with
/// the same key and files is the same deed.
async fn reports_and_partner_submissions_carry_evidence_over_the_api(mut w: World) {
    let dir = tempfile::tempdir().unwrap();
    w.app = moralbank_web::app(w.state.clone().with_evidence_dir(dir.path().to_path_buf()));
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "evidence")
        .await
        .unwrap();
    let post = |path: &'static str, bearer: String, key: &'static str, body: (String, Vec<u8>)| {
        let mut req = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {bearer}"))
            .header("content-type", body.0);
        if !key.is_empty() {
            req = req.header("idempotency-key", key);
        }
        let req = req.body(axum::body::Body::from(body.1)).unwrap();
        let w = &w;
        async move {
            let (s, _, text) = w.send(req).await;
            (
                s,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let photo: &[u8] = b"\x89PNG\r\n\x1a\n a photo of the blood drive";
    let other: &[u8] = b"\x89PNG\r\n\x1a\n another photo";
    let deed = json!({"citizen_id": w.citizen.id, "standard": "neighbourly-help", "deed_date": today(&w), "place": "东山社区", "description": "帮助邻居修理漏雨的屋顶"});
    let (s, d) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-1",
        multipart(&deed, &[("evidence", photo)]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["status"], "review");
    let id = d["id"].as_str().unwrap().to_string();
    // The deed's record, as its resident reads it, lists the file.
    let (_, detail) = w
        .api("GET", &format!("/deeds/{id}"), Some(&w.citizen.token), None)
        .await;
    let ev = &detail["evidence"];
    assert_eq!(
        (ev[0]["content_type"].as_str(), ev[0]["bytes"].as_u64()),
        (Some("image/png"), Some(photo.len() as u64)),
        "{detail}"
    );
    let sha = ev[0]["sha256"].as_str().unwrap().to_string();
    // A retry is the same deed; the same key with another file is a conflict.
    let (s, again) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-1",
        multipart(&deed, &[("evidence", photo)]),
    )
    .await;
    assert_eq!(
        (s.is_success(), again["id"].as_str()),
        (true, Some(id.as_str())),
        "{again}"
    );
    let (s, p) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-1",
        multipart(&deed, &[("evidence", other)]),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    // The committee reads the photo; the bytes come back as sent.
    let member = w.staff(Role::Evaluator);
    let (s, _, body) = w
        .page(
            "GET",
            &format!("/deeds/{id}/evidence/{sha}"),
            Some(member),
            &[],
        )
        .await;
    // (The helper reads the body as text, lossily: compare it the same way.)
    assert_eq!(
        (s, body),
        (StatusCode::OK, String::from_utf8_lossy(photo).into_owned())
    );

    // Refusals name the field and create nothing.
    let (_, mine_before) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    let before = mine_before["items"].as_array().unwrap().len();
    let text_file: &[u8] = b"just some text, not a photo";
    let (s, p) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-2",
        multipart(&deed, &[("evidence", text_file)]),
    )
    .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str(), code(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("evidence"),
            "file_type"
        ),
        "{p}"
    );
    let six: Vec<(&str, &[u8])> = (0..6).map(|_| ("evidence", photo)).collect();
    let (s, p) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-3",
        multipart(&deed, &six),
    )
    .await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_many"),
        "{p}"
    );
    let (s, p) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-4",
        multipart(&deed, &[("photo", photo)]),
    )
    .await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_part"),
        "{p}"
    );
    let (s, p) = post(
        "/partner/deeds",
        secret.clone(),
        "ev-5",
        multipart(&json!({"citizen_id": w.citizen.id}), &[]),
    )
    .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("deed")),
        "{p}"
    );
    let (_, mine_after) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    assert_eq!(mine_after["items"].as_array().unwrap().len(), before);

    // A resident's own report over the API, with a PDF.
    let pdf: &[u8] = b"%PDF-1.7 a certificate of the honour";
    let mine = json!({"standard": "neighbourly-help", "deed_date": today(&w), "place": "东山社区", "description": "陪伴独居老人就医"});
    let (s, d) = post(
        "/deeds",
        w.citizen.token.clone(),
        "",
        multipart(&mine, &[("evidence", pdf)]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (_, detail) = w
        .api(
            "GET",
            &format!("/deeds/{}", d["id"].as_str().unwrap()),
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(
        detail["evidence"][0]["content_type"], "application/pdf",
        "{detail}"
    );
    // Plain JSON still works, and a partner cannot use the residents' route.
    let (s, _) = w
        .api("POST", "/deeds", Some(&w.citizen.token), Some(mine.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = post("/deeds", secret, "", multipart(&mine, &[("evidence", pdf)])).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    a_reported_deed_is_voted_published_and_credited_with_a_receipt,
    an_objection_upheld_means_no_points_and_an_appeal_can_reverse_it,
    partners_submit_a_file_of_deeds_whole_or_not_at_all,
    a_linked_member_is_recused_from_their_households_deeds,
    evidence_is_encrypted_and_goes_with_a_withdrawal_or_when_unreferenced,
    the_home_page_links_the_village_board_and_the_report_page_names_the_period,
    reports_and_partner_submissions_carry_evidence_over_the_api,
);
