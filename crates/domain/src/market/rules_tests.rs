use super::*;

#[test]
fn a_demand_moves_forward_only_and_stops_when_closed() {
    use DemandStatus::*;
    assert_eq!(Open.step(DemandStep::IntroductionAccepted), Ok(Matched));
    assert_eq!(Open.step(DemandStep::ContractRecorded), Err("not_matched"));
    assert_eq!(Matched.step(DemandStep::ContractRecorded), Ok(Contracted));
    assert_eq!(
        Contracted.step(DemandStep::IntroductionAccepted),
        Ok(Contracted)
    );
    assert_eq!(Matched.step(DemandStep::Close), Ok(Closed));
    assert_eq!(
        Closed.step(DemandStep::IntroductionAccepted),
        Err("demand_closed")
    );
    assert!(Matched.takes_introductions() && !Contracted.takes_introductions());
    for s in DemandStatus::ALL {
        assert_eq!(DemandStatus::parse(s.as_str()), Some(s));
    }
}

#[test]
fn only_the_answerer_accepts_and_only_the_asker_withdraws() {
    use IntroStatus::*;
    assert_eq!(
        Asked.step(IntroParty::Answerer, IntroStep::Accept),
        Ok(Accepted)
    );
    assert_eq!(
        Asked.step(IntroParty::Asker, IntroStep::Accept),
        Err("not_your_step")
    );
    assert_eq!(
        Asked.step(IntroParty::Answerer, IntroStep::Withdraw),
        Err("not_your_step")
    );
    assert_eq!(
        Asked.step(IntroParty::Asker, IntroStep::Withdraw),
        Ok(Withdrawn)
    );
    assert_eq!(
        Declined.step(IntroParty::Answerer, IntroStep::Accept),
        Err("already_answered")
    );
    assert!(Accepted.reveals_contacts());
    assert!(
        IntroStatus::ALL
            .iter()
            .filter(|s| s.reveals_contacts())
            .count()
            == 1
    );
}

#[test]
fn credit_codes_are_checked_by_their_last_character() {
    // The standard's own example.
    assert_eq!(
        credit_code("c", "91350100M000100Y43").as_deref(),
        Ok("91350100M000100Y43")
    );
    assert_eq!(
        credit_code("c", "91350100m000100y43").as_deref(),
        Ok("91350100M000100Y43")
    );
    assert_eq!(
        credit_code("c", "91350100M000100Y44").unwrap_err().code,
        "checksum"
    );
    assert_eq!(
        credit_code("c", "91350100M00010").unwrap_err().code,
        "invalid_format"
    );
    assert_eq!(
        credit_code("c", "91350100I000100Y43").unwrap_err().code,
        "invalid_format"
    );
}

#[test]
fn a_demand_form_names_every_bad_field() {
    let today = day_number("2026-12-06").unwrap();
    let ok = DemandForm::parse(
        "注塑件缩痕改善",
        "家电外壳注塑件表面缩痕明显，希望优化模具冷却和工艺参数。",
        "",
        ("29", "100k_500k", "2027-03-01"),
        today,
    )
    .unwrap();
    assert_eq!(ok.industry, "29");
    let e = DemandForm::parse("短", "太短", "", ("99", "lots", "2026-12-06"), today).unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["title", "summary", "industry", "budget", "deadline"]
    );
    let far = DemandForm::parse(
        "注塑件缩痕改善",
        "家电外壳注塑件表面缩痕明显需要改善",
        "",
        ("29", "negotiable", "2028-12-06"),
        today,
    );
    assert_eq!(far.unwrap_err().0[0].code, "too_far");
}

#[test]
fn keywords_split_on_chinese_and_western_separators() {
    assert_eq!(
        keywords("k", "模具，注塑、 热流道;模具").unwrap(),
        ["模具", "注塑", "热流道"]
    );
    assert_eq!(keywords("k", " , ").unwrap_err().code, "required");
    assert_eq!(trl("trl", "10").unwrap_err().code, "out_of_range");
    assert_eq!(trl("trl", "7"), Ok(7));
}
