use super::*;

#[test]
fn a_consent_expires_by_the_clock_and_only_an_authorised_one_issues() {
    use ConsentStatus::*;
    assert_eq!(Authorised.at(100, 99), Authorised);
    assert_eq!(Authorised.at(100, 100), Expired);
    assert_eq!(Requested.at(100, 150), Expired);
    assert_eq!(Used.at(100, 150), Used);
    assert_eq!(Revoked.at(100, 150), Revoked);
    assert_eq!(may_issue(Authorised, PURPOSE, 100, 50), Ok(()));
    assert_eq!(
        may_issue(Requested, PURPOSE, 100, 50),
        Err(Refusal::NotAuthorised)
    );
    assert_eq!(
        may_issue(Authorised, PURPOSE, 100, 100),
        Err(Refusal::Expired)
    );
    assert_eq!(may_issue(Used, PURPOSE, 100, 50), Err(Refusal::Used));
    assert_eq!(may_issue(Revoked, PURPOSE, 100, 50), Err(Refusal::Revoked));
    assert_eq!(
        may_issue(Authorised, "marketing", 100, 50),
        Err(Refusal::PurposeMismatch)
    );
    for s in [Requested, Authorised, Used, Revoked, Expired] {
        assert_eq!(ConsentStatus::parse(s.as_str()), Some(s));
    }
}

#[test]
fn terms_default_and_refuse_out_of_range_by_field() {
    assert_eq!(
        Terms::parse("", ""),
        Ok(Terms {
            expiry_days: 7,
            lookback_months: 36
        })
    );
    assert_eq!(Terms::parse("30", "12").unwrap().expiry_days, 30);
    let e = Terms::parse("31", "0").unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["expiry_days", "lookback_months"]);
}

#[test]
fn adulthood_counts_the_birthday() {
    assert!(is_adult((2008, 12, 6), (2026, 12, 6)));
    assert!(!is_adult((2008, 12, 7), (2026, 12, 6)));
    assert!(is_adult((1950, 1, 1), (2026, 12, 6)));
    assert!(!is_adult((2020, 1, 1), (2026, 12, 6)));
}

#[test]
fn the_table_parses_rises_with_tiers_and_names_the_bad_cell() {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    let t = LineTable::parse(
        "4.35",
        &s(&["0", "50000", "100000"]),
        &s(&["0", "10", "20.5"]),
    )
    .unwrap();
    assert_eq!(t.posted_rate_bp, 435);
    assert_eq!(t.rows[2].rate_discount_bp, 2050);
    assert_eq!(t.row(5).unwrap().tier, 3);
    assert_eq!(t.row(2).unwrap().max_line_yuan, 50_000);
    let e = LineTable::parse("0", &s(&["100", "50"]), &s(&["5", "x"])).unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["posted_rate", "discount_2", "line_2", "discount_2"]
    );
    assert_eq!(parse_bp("4.35"), Some(435));
    assert_eq!(parse_bp("20"), Some(2000));
    assert_eq!(parse_bp("4.355"), None);
    assert_eq!(parse_bp("-1"), None);
    assert_eq!(bp_text(435), "4.35");
}

#[test]
fn a_household_tier_is_per_capita() {
    let t = crate::tier::DEFAULT_THRESHOLDS;
    assert_eq!(household_tier(120, 4, &t), 2);
    assert_eq!(household_tier(120, 1, &t), 3);
    assert_eq!(household_tier(0, 0, &t), 1);
    assert_eq!(tier_rules(&t), "household-per-capita/v1 0,30,100,300,1000");
}

#[test]
fn a_decision_needs_reasons_and_an_approval_its_terms() {
    let mut d = DecisionInput {
        outcome: "approved".into(),
        amount_yuan: "200000".into(),
        rate_pct: "3.6".into(),
        term_months: "36".into(),
        loan_ref: "YY-2026-0001".into(),
        reasons: vec!["good_moral_credit".into(), "good_moral_credit".into()],
        reasons_text: String::new(),
    };
    let ok = Decision::parse(&d).unwrap();
    assert_eq!(ok.rate_bp, Some(360));
    assert_eq!(ok.reasons, ["good_moral_credit"]);
    d.outcome = "declined".into();
    let e = Decision::parse(&d).unwrap_err();
    assert!(e.0.iter().all(|f| f.code == "only_for_approval"));
    let declined = DecisionInput {
        outcome: "declined".into(),
        reasons: vec!["income_insufficient".into()],
        ..DecisionInput::default()
    };
    assert_eq!(Decision::parse(&declined).unwrap().amount_yuan, None);
    let bad = DecisionInput {
        outcome: "maybe".into(),
        ..DecisionInput::default()
    };
    let fields: Vec<String> = Decision::parse(&bad)
        .unwrap_err()
        .0
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(fields, ["outcome", "reasons"]);
}

#[test]
fn a_loan_book_row_is_checked_cell_by_cell() {
    let row = LoanMonth::parse(&["YY-1", "2026-11", "disbursed", "150000"]).unwrap();
    assert_eq!(row.month, 202_611);
    let e = LoanMonth::parse(&["", "2026-13", "gone", "-1"]).unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["loan_ref", "month", "state", "outstanding_yuan"]);
    let e = LoanMonth::parse(&["YY-1", "202611", "repaid", "5"]).unwrap_err();
    assert_eq!(e.0[0].code, "must_be_zero");
}
