#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! City data imports on SQLite and PostgreSQL: a file is committed whole or not at all, every
//! bad cell is named; GB18030 CSV and XLSX with Excel's traps; a file sent again does nothing;
//! the clerk's preview then confirmation; the open-data figures.

use domain::citydata::kinds::PARTNER_DEEDS;
use moralbank_store::citydata::imports::read;
use moralbank_store::citydata::{Import, ImportOwner, Mode, Upload};
use moralbank_store::evaluation::Rules;
use moralbank_store::{now_ms, Store};
use rust_xlsxwriter::{Format, Workbook};
use std::sync::atomic::AtomicUsize;

struct Setup {
    store: Store,
    partner: String,
    /// Resident ID numbers and ids of three enrolled residents.
    ids: Vec<(String, String)>,
    today: String,
}

async fn setup(store: Store) -> Setup {
    store.fixtures().seed_city(5, 7).await.unwrap();
    let partner = store
        .trusted_partner_for_tests("余姚市中心血站", &["blood-donation", "volunteer-hour"])
        .await;
    let mut ids = Vec::new();
    for id in store.citizen_ids(3).await {
        let c = store.registry().citizen(&id).await.unwrap().unwrap();
        ids.push((c.resident_id.as_str().to_string(), id));
    }
    Setup {
        store,
        partner,
        ids,
        today: moralbank_store::day_of(now_ms()),
    }
}

impl Setup {
    async fn import(&self, name: &str, bytes: &[u8], mode: Mode) -> Import {
        self.store
            .citydata()
            .import_file(
                &Upload {
                    schema: &PARTNER_DEEDS,
                    owner: ImportOwner::Partner(self.partner.clone()),
                    by: self.partner.clone(),
                    file_name: name.into(),
                    bytes,
                },
                mode,
                &Rules::default(),
                now_ms(),
                &AtomicUsize::new(0),
            )
            .await
            .unwrap()
    }

    async fn deeds(&self) -> i64 {
        self.store
            .count_for_tests("SELECT COUNT(*) FROM deeds")
            .await
            .unwrap()
    }
}

fn codes(i: &Import) -> Vec<(String, String)> {
    i.problems
        .iter()
        .map(|p| (p.cell.clone().unwrap_or_default(), p.code.clone()))
        .collect()
}

async fn one_bad_row_imports_nothing_and_every_bad_cell_is_named(store: Store) {
    let s = setup(store).await;
    let (id0, _) = &s.ids[0];
    let (id1, _) = &s.ids[1];
    let day = &s.today;
    let good = format!("k1,{id0},blood-donation,{day},血站,无偿献血 200 毫升,");
    let csv = format!(
        "key,身份证号,standard,deed_date,place,description,points\n{good}\n\
         k2,330281199001011236,blood-donation,{day},血站,献血,\n\
         k3,{id1},no-such,{day},血站,献血,\n\
         k4,{id1},volunteer-hour,45413,社区,服务,2\n"
    );
    let i = s.import("deeds.csv", csv.as_bytes(), Mode::Commit).await;
    assert_eq!(i.status, "refused");
    assert_eq!((i.rows.total, i.rows.new, i.rows.refused), (4, 1, 3));
    assert_eq!(
        codes(&i),
        [
            ("B3".into(), "resident_id_checksum".into()),
            ("C4".into(), "unknown_standard".into()),
            ("D5".into(), "excel_serial_date".into()),
        ]
    );
    // The ID number a problem shows is masked.
    assert_eq!(i.problems[0].value.as_deref(), Some("3302**********1236"));
    assert_eq!(s.deeds().await, 0, "nothing of the file was written");
    assert_eq!(
        s.store
            .count_for_tests("SELECT COUNT(*) FROM access_log WHERE action = 'deed_submitted'")
            .await
            .unwrap(),
        0
    );
    // The error workbook: the rows as sent, with an error column naming each cell.
    let wb = s
        .store
        .citydata()
        .error_workbook(&i.id, &ImportOwner::Partner(s.partner.clone()), |p| {
            p.message.clone()
        })
        .await
        .unwrap()
        .unwrap();
    let sheet = read::read(&wb).unwrap();
    assert_eq!(sheet.format, "xlsx");
    assert_eq!(sheet.rows.len(), 4);
    let errors = |r: usize| sheet.rows[r].last().unwrap().display();
    assert!(
        errors(1).contains("B3 [resident_id_checksum]"),
        "{}",
        errors(1)
    );
    assert!(errors(3).contains("excel_serial_date"));
    assert_eq!(errors(0), "", "the good row has no error");

    // The good row alone is committed, with its deed on publicity and its access-log row.
    let fixed = format!("key,身份证号,standard,deed_date,place,description,points\n{good}\n");
    let ok = s.import("deeds.csv", fixed.as_bytes(), Mode::Commit).await;
    assert_eq!(ok.status, "committed", "{:?}", ok.problems);
    assert_eq!((ok.rows.new, ok.rows.unchanged), (1, 0));
    assert_eq!(ok.results[0].status, "publicity");
    assert_eq!(s.deeds().await, 1);
    assert_eq!(
        s.store
            .count_for_tests("SELECT COUNT(*) FROM access_log WHERE action = 'deed_submitted'")
            .await
            .unwrap(),
        1
    );
    // The same file again: the first import, nothing done.
    let again = s.import("again.csv", fixed.as_bytes(), Mode::Commit).await;
    assert!(again.already_imported);
    assert_eq!(again.id, ok.id);
    assert_eq!(s.deeds().await, 1);
    // Another file repeating that row: unchanged, and the new row new.
    let more = format!("{fixed}k5,{id1},volunteer-hour,{day},社区,敬老院服务,2\n");
    let m = s.import("more.csv", more.as_bytes(), Mode::Commit).await;
    assert_eq!(
        (m.status.as_str(), m.rows.new, m.rows.unchanged),
        ("committed", 1, 1)
    );
    assert_eq!(s.deeds().await, 2);
    // The same key for another deed is refused, naming the key's cell.
    let clash = format!(
        "key,身份证号,standard,deed_date,place,description,points\nk1,{id1},blood-donation,{day},血站,献血,\n"
    );
    let c = s.import("clash.csv", clash.as_bytes(), Mode::Commit).await;
    assert_eq!(codes(&c), [("A2".into(), "idempotency_conflict".into())]);
    assert_eq!(s.deeds().await, 2);
}

async fn gb18030_csv_and_xlsx_traps_and_a_confirmed_preview(store: Store) {
    let s = setup(store).await;
    let (id0, cid0) = &s.ids[0];
    let (id2, _) = &s.ids[2];
    let day = &s.today;
    // What Excel on a Chinese Windows saves as "CSV": GB18030, Chinese headers.
    let text = format!(
        "记录编号,身份证号,积分标准,事迹日期,地点,事迹描述,积分\r\ng1,{id0},volunteer-hour,{},东山社区,陪伴孤寡老人,2\r\n",
        day.replace('-', "/")
    );
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
    let p = s.import("志愿服务.csv", &bytes, Mode::Preview).await;
    assert_eq!(
        (p.status.as_str(), p.format.as_str(), p.rows.new),
        ("previewed", "csv-gb18030", 1),
        "{:?}",
        p.problems
    );
    assert_eq!(s.deeds().await, 0, "a preview writes nothing");
    // The clerk confirms: the stored file is committed.
    let c = s
        .store
        .citydata()
        .commit_import(
            &p.id,
            &ImportOwner::Partner(s.partner.clone()),
            "clerk",
            &Rules::default(),
            now_ms(),
            &AtomicUsize::new(0),
        )
        .await
        .unwrap();
    assert_eq!(
        (c.id.as_str(), c.status.as_str()),
        (p.id.as_str(), "committed")
    );
    assert_eq!(s.deeds().await, 1);
    let deed = s.store.evaluation().citizen_deeds(cid0, 10).await.unwrap();
    assert_eq!(deed[0].points, Some(2));

    // An XLSX typed the way clerks do: the ID number as a number, a date cell, a formula.
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (j, h) in ["编号", "身份证号码", "标准", "日期", "地点", "描述", "积分"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    let serial = {
        let (y, m, d) = (&day[0..4], &day[5..7], &day[8..10]);
        let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
            y.parse().unwrap(),
            m.parse().unwrap(),
            d.parse().unwrap(),
        )
        .unwrap();
        dt.to_excel()
    };
    let rows: [(&str, f64, &str); 3] = [
        ("x1", 3.302_811_990_010_1e17, "2"),
        ("x2", 0.0, "=1+1"),
        ("x3", 0.0, "2"),
    ];
    for (i, (key, as_number, points)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, *key).unwrap();
        if *as_number > 0.0 {
            ws.write_number(r, 1, *as_number).unwrap();
        } else {
            ws.write_string(r, 1, id2.as_str()).unwrap();
        }
        ws.write_string(r, 2, "volunteer-hour").unwrap();
        ws.write_number_with_format(r, 3, serial, &date).unwrap();
        ws.write_string(r, 4, "图书馆").unwrap();
        ws.write_string(r, 5, format!("整理图书 {key}")).unwrap();
        if let Some(f) = points.strip_prefix('=') {
            ws.write_formula(r, 6, f).unwrap();
        } else {
            ws.write_string(r, 6, *points).unwrap();
        }
    }
    let xlsx = book.save_to_buffer().unwrap();
    let x = s.import("图书馆.xlsx", &xlsx, Mode::Commit).await;
    assert_eq!(x.format, "xlsx");
    assert_eq!(
        codes(&x),
        [
            ("B2".into(), "id_number_as_number".into()),
            ("G3".into(), "formula".into())
        ]
    );
    assert_eq!(x.status, "refused");
    assert_eq!(s.deeds().await, 1);

    // Merged header cells are named as such.
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "编号").unwrap();
    ws.merge_range(0, 1, 0, 2, "身份证号", &Format::new())
        .unwrap();
    ws.write_string(0, 3, "标准").unwrap();
    ws.write_string(1, 0, "m1").unwrap();
    let m = s
        .import(
            "merged.xlsx",
            &book.save_to_buffer().unwrap(),
            Mode::Preview,
        )
        .await;
    assert!(
        codes(&m).contains(&("C1".into(), "merged_header".into())),
        "{:?}",
        m.problems
    );

    // Unreadable bytes and a file-level problem.
    let junk = s
        .import("x.bin", &[0xff, 0xfe, 0x00, 0x81], Mode::Commit)
        .await;
    assert_eq!(junk.problems[0].code, "unreadable_file");
}

async fn the_templates_read_back_as_files_of_their_kind(store: Store) {
    let _ = store;
    let lists = [(
        "standard",
        vec!["blood-donation".to_string(), "volunteer-hour".into()],
    )]
    .into_iter()
    .collect();
    let x = moralbank_store::citydata::imports::workbook::template_xlsx(&PARTNER_DEEDS, &lists)
        .unwrap();
    let sheet = read::read(&x).unwrap();
    assert!(
        PARTNER_DEEDS
            .map_header(&sheet.header, sheet.merged_header)
            .is_ok(),
        "{:?}",
        sheet.header
    );
    let c = moralbank_store::citydata::imports::workbook::template_csv(&PARTNER_DEEDS);
    assert!(c.starts_with("\u{feff}".as_bytes()));
    let sheet = read::read(&c).unwrap();
    assert_eq!(sheet.format, "csv-utf8");
    assert!(PARTNER_DEEDS.map_header(&sheet.header, false).is_ok());
}

async fn the_same_file_sent_twice_at_once_is_committed_once(store: Store) {
    let s = setup(store).await;
    let day = &s.today;
    let mut csv = String::from("key,身份证号,standard,deed_date,place,description,points\n");
    for (k, (rid, _)) in s.ids.iter().enumerate() {
        csv.push_str(&format!(
            "t{k},{rid},blood-donation,{day},血站,无偿献血 200 毫升,\n"
        ));
    }
    let send = || {
        let store = s.store.clone();
        let (partner, bytes) = (s.partner.clone(), csv.clone().into_bytes());
        tokio::spawn(async move {
            store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &PARTNER_DEEDS,
                        owner: ImportOwner::Partner(partner.clone()),
                        by: partner,
                        file_name: "deeds.csv".into(),
                        bytes: &bytes,
                    },
                    Mode::Commit,
                    &Rules::default(),
                    now_ms(),
                    &AtomicUsize::new(0),
                )
                .await
                .unwrap()
        })
    };
    let (a, b) = (send(), send());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(
        (a.status.as_str(), b.status.as_str()),
        ("committed", "committed")
    );
    assert_eq!(a.id, b.id, "both answers are the one import");
    assert!(a.already_imported != b.already_imported, "{a:?} {b:?}");
    assert_eq!(s.deeds().await, 3, "each row written once");
    assert_eq!(
        s.store
            .count_for_tests("SELECT COUNT(*) FROM imports WHERE status = 'committed'")
            .await
            .unwrap(),
        1
    );
}

moralbank_store::on_both_backends!(
    one_bad_row_imports_nothing_and_every_bad_cell_is_named,
    gb18030_csv_and_xlsx_traps_and_a_confirmed_preview,
    the_templates_read_back_as_files_of_their_kind,
    green_card_honour_lists_issue_each_card_once,
    the_same_file_sent_twice_at_once_is_committed_once,
);

async fn green_card_honour_lists_issue_each_card_once(store: Store) {
    use domain::citydata::kinds::GREEN_CARD_HONOURS;
    let s = setup(store).await;
    let next_year = format!("{}-12-31", s.today[..4].parse::<i32>().unwrap() + 1);
    let city = |name: &str, bytes: &[u8], mode| {
        let store = s.store.clone();
        let (name, bytes) = (name.to_string(), bytes.to_vec());
        async move {
            store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &GREEN_CARD_HONOURS,
                        owner: ImportOwner::City,
                        by: "staff-admin".into(),
                        file_name: name,
                        bytes: &bytes,
                    },
                    mode,
                    &Rules::default(),
                    now_ms(),
                    &AtomicUsize::new(0),
                )
                .await
                .unwrap()
        }
    };
    // A partner does not send the city's lists.
    let err = s
        .store
        .citydata()
        .import_file(
            &Upload {
                schema: &GREEN_CARD_HONOURS,
                owner: ImportOwner::Partner(s.partner.clone()),
                by: s.partner.clone(),
                file_name: "h.csv".into(),
                bytes: b"x",
            },
            Mode::Commit,
            &Rules::default(),
            now_ms(),
            &AtomicUsize::new(0),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, moralbank_store::StoreError::Invalid(f) if f.0[0].code == "not_your_kind"),
        "{err:?}"
    );

    let (id0, _) = &s.ids[0];
    let (id1, _) = &s.ids[1];
    let (id2, _) = &s.ids[2];
    let (_, stranger) = moralbank_store::fixtures::city::demo_identity(999_999);
    let (_, rid4) = moralbank_store::fixtures::city::demo_identity(4);
    let bad = format!(
        "身份证号,荣誉称号,事迹简介,有效期至\n\
         {id0},余姚好人,照顾孤寡老人十年,{next_year}\n\
         {id1},moral-model,见义勇为救落水儿童,{next_year}\n\
         {id2},好人好事,热心公益,{next_year}\n\
         {},道德模范,热心公益,{next_year}\n\
         {},道德模范,热心公益,2001-01-01\n",
        stranger.as_str(),
        rid4.as_str()
    );
    let i = city("名单.csv", bad.as_bytes(), Mode::Commit).await;
    assert_eq!(i.status, "refused");
    assert_eq!(
        codes(&i),
        [
            ("B4".into(), "not_in_list".into()),
            ("A5".into(), "unknown_resident".into()),
            ("D6".into(), "in_past".into()),
        ]
    );
    assert!(
        i.problems[0].message.contains("余姚好人"),
        "the list is named: {:?}",
        i.problems[0]
    );
    let cards = || s.store.count_for_tests("SELECT COUNT(*) FROM green_cards");
    assert_eq!(cards().await.unwrap(), 0, "nothing of the list was written");

    let good = format!(
        "身份证号,荣誉,事迹简介,有效期至\n{id0},余姚好人,照顾孤寡老人十年,{next_year}\n\
         {id1},moral-model,见义勇为救落水儿童,{next_year}\n{id2},道德模范,热心公益,{next_year}\n"
    );
    let i = city("名单-改.csv", good.as_bytes(), Mode::Commit).await;
    assert_eq!(i.status, "committed", "{:?}", i.problems);
    assert_eq!((i.rows.new, i.rows.unchanged), (3, 0));
    assert_eq!(cards().await.unwrap(), 3);
    let honours = s
        .store
        .rows_for_tests("SELECT honour, issued_by FROM green_cards ORDER BY honour")
        .await
        .unwrap();
    assert_eq!(
        honours,
        [
            ["moral-model", "staff-admin"],
            ["moral-model", "staff-admin"],
            ["yuyao-good-person", "staff-admin"]
        ]
    );
    // Next year's list repeats a name: that card is unchanged, the new name gets one.
    let (_, rid3) = moralbank_store::fixtures::city::demo_identity(3);
    let again = format!(
        "身份证号,荣誉,事迹简介,有效期至\n{id0},余姚好人,照顾孤寡老人十年,{next_year}\n{},见义勇为,勇斗歹徒,{next_year}\n",
        rid3.as_str()
    );
    let i = city("名单-2.csv", again.as_bytes(), Mode::Commit).await;
    assert_eq!(i.status, "committed", "{:?}", i.problems);
    assert_eq!((i.rows.new, i.rows.unchanged), (1, 1));
    assert_eq!(cards().await.unwrap(), 4);
    // The city's imports are the city's: a partner sees none of them.
    let mine = s
        .store
        .citydata()
        .imports(&ImportOwner::City, 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    let theirs = s
        .store
        .citydata()
        .imports(&ImportOwner::Partner(s.partner.clone()), 10)
        .await
        .unwrap();
    assert!(theirs.is_empty());
    assert!(s
        .store
        .citydata()
        .import(&mine[0].id, &ImportOwner::Partner(s.partner.clone()))
        .await
        .unwrap()
        .is_none());
    // The template's drop-down holds the honours' names, and reads back as the kind.
    let x = moralbank_store::citydata::imports::workbook::template_xlsx(
        &GREEN_CARD_HONOURS,
        &Default::default(),
    )
    .unwrap();
    let sheet = read::read(&x).unwrap();
    assert!(GREEN_CARD_HONOURS.map_header(&sheet.header, false).is_ok());
    let mut zip = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(x)).unwrap();
    use calamine::Reader;
    let lists = zip.worksheet_range("lists").unwrap();
    let names: Vec<String> = lists.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert_eq!(names, ["道德模范", "余姚好人", "宁波好人", "见义勇为"]);
}
