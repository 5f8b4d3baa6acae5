# The technology supermarket (科技超市): /market, /console/market, /expert. Merged into gen.py's T.
M = {
 "nav.expert": ("我是专家", "Expert"), "role.broker": ("科技红娘", "technology broker"), "kind.enterprise": ("科技超市登记企业", "enterprise (technology supermarket)"),
 "market.title": ("科技超市", "Technology supermarket"),
 "market.lead": ("企业发布技术需求，专家库和科技成果库为需求找到合适的人和技术；双方都同意后才互相看到联系方式。", "Enterprises publish technology demands; the expert pool and the achievements library find the right people and technologies; contacts are shown only once both sides agree."),
 "market.public_hint": ("这里只公开需求摘要、成果和活动；需求详情和任何联系方式都不会公开。", "Only demand summaries, achievements and events are public here; a demand's details and any contacts never are."),
 "market.console_title": ("科技超市", "Technology supermarket"),
 "market.office_title": ("科技超市工作台", "Technology supermarket office"),
 "market.office_lead": ("登记企业、维护专家库和成果库、置顶推荐、组织对接活动、登记技术合同。", "Register enterprises, keep the expert pool and achievements, pin matches, run matchmaking events, register technology contracts."),
 "market.enterprise_lead": ("发布技术需求，查看推荐的专家和成果并申请对接；报名对接活动。", "Publish technology demands, see the experts and achievements matched to them and ask for introductions; sign up for matchmaking events."),
 "market.suspended": ("科技超市已暂停本企业发布需求和申请对接，请联系科技超市工作人员。", "The office has suspended this enterprise's demands and asks; contact the technology supermarket's office."),
 "market.figures": ("科技超市概况", "At a glance"),
 "market.f_enterprises": ("家企业参与", "enterprises taking part"), "market.f_demands": ("项技术需求", "technology demands"), "market.f_experts": ("位专家", "experts"), "market.f_achievements": ("项科技成果", "achievements"), "market.f_events": ("场对接活动", "matchmaking events"), "market.f_claimed": ("已本人认领", "claimed by themselves"), "market.f_signups": ("报名", "signed up"),
 "market.open_demands": ("征集中的技术需求", "Open demands"), "market.achievements": ("科技成果", "Achievements"), "market.achievement": ("成果", "Achievement"),
 "market.events": ("对接活动", "Matchmaking events"), "market.none": ("暂无。", "None yet."),
 "market.industry": ("行业", "Industry"), "market.discipline": ("学科", "Discipline"), "market.trl": ("技术成熟度", "Readiness level"), "market.licensing": ("转化方式", "Licensing"), "market.price": ("价格区间", "Price band"),
 "market.budget": ("预算", "Budget"), "market.deadline": ("截止日期", "Deadline"),
 "market.seats": ("已报名 {n}/{of}", "{n} of {of} seats taken"), "market.waiting_list": ("候补 {n}", "{n} waiting"), "market.waiting_n": ("候补第 {n} 位", "waiting list, number {n}"),
 "market.my_demands": ("我的技术需求", "Our demands"), "market.publish": ("发布技术需求", "Publish a demand"), "market.publish_button": ("发布", "Publish"),
 "market.publish_lead": ("需求摘要公开展示并用于匹配；详细情况只给科技超市和同意对接的专家看。", "The summary is public and used for matching; the details are seen only by the office and experts who accept an introduction."),
 "market.d_title": ("标题", "Title"), "market.d_summary": ("公开摘要", "Public summary"), "market.d_summary_hint": ("写清要解决的问题、现状和目标，10–500字", "The problem, where you stand and the goal; 10 to 500 characters"),
 "market.d_detail": ("详细情况（保密）", "Details (confidential)"), "market.d_detail_hint": ("工艺参数、数据、预算考虑等，只在对接成功后给对方看", "Process parameters, figures, budget reasoning: shown only after an accepted introduction"),
 "market.choose": ("请选择", "Choose"), "market.demand": ("需求", "Demand"), "market.enterprise": ("企业", "Enterprise"), "market.match": ("对接对象", "Match"),
 "market.introductions": ("对接申请", "Introductions"), "market.introduction": ("对接", "Introduction"), "market.intro_status": ("状态", "Status"), "market.asked_at": ("申请时间", "Asked"),
 "market.asked_of_us": ("{e} 申请对接本企业的成果", "{e} asks about our achievement"),
 "market.my_places": ("我们的报名", "Our places"), "market.seated": ("已报名", "seat confirmed"), "market.checked_in": ("已签到", "checked in"),
 "market.ticket_hint": ("活动当天在入口出示此二维码签到", "Show this QR at the door on the day to check in"),
 "market.cancel_place": ("取消报名", "Give up the place"), "market.sign_up": ("报名", "Sign up"), "market.join_waiting": ("加入候补", "Join the waiting list"),
 "market.event_matches": ("活动中申请对接 {a} 次，成功 {m} 次", "{a} introductions asked at the event, {m} accepted"),
 "market.reminder": ("提醒：{s} 将于 {at} 开始，请准时参加并出示签到二维码。", "Reminder: {s} starts at {at}; come on time and show your check-in QR."),
 "market.consultations": ("公益技术咨询", "Free consultations"),
 "market.consult_confirm_hint": ("专家为本合作社提供的免费技术咨询，请确认是否属实；确认后专家按积分标准获得道德积分，合作社不支付任何费用。", "Free technical advice an expert gave this cooperative: confirm it took place; once confirmed the expert earns moral points under the published standard. The cooperative pays nothing."),
 "market.hours": ("{n} 小时", "{n} h"), "market.confirm_consult": ("属实，确认", "Confirm"), "market.refuse_consult": ("不属实", "Did not happen"),
 "market.contracts": ("技术合同", "Technology contracts"), "market.contract": ("技术合同", "Contract"), "market.registered_no": ("认定登记号", "Registration no."),
 "market.not_registered": ("尚未认定登记", "not yet registered"),
 "market.close_demand": ("关闭需求", "Close the demand"),
 "market.matching_experts": ("推荐专家", "Matching experts"), "market.matching_achievements": ("推荐成果", "Matching achievements"),
 "market.matching_hint": ("按需求文字与专家研究方向、成果关键词的相关度，结合行业代码、地区和可接洽情况排序；每条都列出共同的关键词和代码。", "Ranked by how the demand's words relate to each expert's field and each achievement's keywords, with the industry code, region and availability; each lists the shared terms and codes."),
 "market.pinned": ("科技红娘推荐", "pinned by the broker"), "market.why": ("匹配依据", "Why"), "market.same_region": ("余姚本地", "local"),
 "market.message": ("给对方的留言", "Message"), "market.met_at": ("在哪场活动中认识", "Met at an event"), "market.met_at_none": ("不是在活动中", "not at an event"),
 "market.ask": ("申请对接", "Ask for an introduction"), "market.already_asked": ("已申请对接", "Introduction asked"),
 "market.pin": ("置顶推荐", "Pin"), "market.unpin": ("取消置顶", "Unpin"), "market.no_matches": ("暂无匹配。", "No matches yet."),
 "market.double_opt_in": ("对方同意后，双方才能看到彼此的联系方式；对方婉拒时会说明原因。", "Contacts are shown to both only once the other side accepts; a decline says why."),
 "market.history": ("记录", "History"),
 "market.contacts": ("联系方式", "Contacts"), "market.contacts_logged": ("每次查看联系方式都会记录在案。", "Every showing of contacts is recorded."),
 "market.contacts_after": ("对方同意对接后才会显示联系方式。", "Contacts appear once the introduction is accepted."),
 "market.phone": ("电话", "Phone"), "market.email": ("邮箱", "E-mail"),
 "market.answer": ("答复对接申请", "Answer"), "market.office_answers": ("这位专家尚未本人认领档案，由科技超市电话征得专家同意后代为答复。", "This expert has not claimed their profile; the office asks them by phone and records their answer."),
 "market.office_answers_title": ("待代专家答复的对接", "Introductions the office answers for experts"),
 "market.accept": ("同意对接", "Accept"), "market.decline": ("婉拒", "Decline"), "market.reason": ("原因", "Reason"), "market.withdraw": ("撤回申请", "Withdraw the ask"),
 "market.contract_kind": ("合同类型", "Type"), "market.amount": ("金额区间", "Amount band"), "market.signed_on": ("签订日期", "Signed on"), "market.record_contract": ("登记合同", "Record the contract"),
 "market.reveals": ("联系方式查看记录", "Contacts shown"),
 "market.month": ("月份", "Month"), "market.count": ("次数", "Count"), "market.declines": ("婉拒原因（按月）", "Declines by reason and month"),
 "market.all_demands": ("全部技术需求", "All demands"), "market.enterprises": ("登记企业", "Registered enterprises"),
 "market.credit_code": ("统一社会信用代码", "Unified social credit code"), "market.kind": ("类型", "Kind"), "market.town": ("所在镇（街道）", "Town"),
 "market.suspend": ("暂停", "Suspend"), "market.restore": ("恢复", "Restore"),
 "market.register": ("登记并核验企业", "Register and verify an enterprise"), "market.register_button": ("登记", "Register"),
 "market.contact_name": ("联系人", "Contact person"),
 "market.pool": ("专家库", "Expert pool"), "market.pool_hint": ("专家库由科技超市用表格导入（需专家书面同意入库），联系方式加密保存。", "The pool is loaded from the office's spreadsheet (each expert agreed in writing); contacts are stored encrypted."),
 "market.find_expert": ("按编号或姓名查找", "Find by number or name"), "market.find": ("查找", "Find"),
 "market.expert_code": ("编号", "Number"), "market.expert": ("专家", "Expert"), "market.institution": ("工作单位", "Institution"), "market.availability": ("接洽状态", "Availability"),
 "market.claimed": ("已认领", "claimed"), "market.show_all": ("展开全部", "Show all"),
 "market.add_achievement": ("登记科技成果", "Add an achievement"), "market.keywords": ("关键词（用顿号分隔）", "Keywords (separated by 、 or commas)"),
 "market.ip_kind": ("知识产权类型", "IP type"), "market.ip_number": ("知识产权编号", "IP number"),
 "market.owner_expert": ("成果所有人：专家编号", "Owner: expert's number"), "market.owner_org": ("或所有单位", "or owning organisation"),
 "market.door": ("签到", "Door"), "market.new_event": ("发布对接活动", "Announce a matchmaking event"), "market.theme": ("主题", "Theme"), "market.venue": ("地点", "Venue"),
 "market.session": ("场次", "Session"), "market.capacity": ("名额", "Seats"), "market.create_event": ("发布活动", "Announce"),
 "market.register_contract": ("登记", "Record"),
 "market.checked_in_now": ("{e} 签到成功", "{e} checked in"), "market.ticket": ("签到码", "Ticket"), "market.scan_ticket": ("扫码", "Scan"), "market.check_in": ("签到", "Check in"),
 "market.door_list": ("报名名单", "Sign-ups"), "market.title_rank": ("职称", "Title"),
 "market.not_credited": ("未计积分", "no points"),
 "expert.title": ("我是专家", "Expert"),
 "expert.lead": ("科技超市专家库的专家可以在这里认领自己的档案、答复企业的对接申请，并登记为村合作社提供的公益咨询。", "Experts of the technology supermarket's pool claim their profile here, answer enterprises' introductions, and record free consultations to village cooperatives."),
 "expert.found": ("专家库中有一份使用您手机号的档案", "The pool holds a profile under your phone number"),
 "expert.consent_text": ("这份档案是科技超市依据您的书面同意入库的：姓名、职称、单位、研究方向展示给登记企业用于匹配；手机号和邮箱只在您同意对接后给该企业看，每次查看都记入您的访问日志。认领后由您本人答复对接申请、修改档案和接洽状态。", "The office added this profile with your written consent: your name, title, institution and field are shown to registered enterprises for matching; your phone and e-mail only to an enterprise whose introduction you accept, each showing in your access log. Once you claim it, you answer introductions and keep the profile and your availability yourself."),
 "expert.consent_agree": ("我同意以上说明", "I agree"), "expert.claim": ("认领档案", "Claim the profile"),
 "expert.none_found": ("专家库中没有使用您手机号的档案。如您是专家，请联系科技超市入库。", "No profile in the pool uses your phone number. If you are an expert, ask the technology supermarket to add you."),
 "expert.save": ("保存", "Save"),
 "expert.contacts_after": ("您同意对接后，双方才能看到彼此的联系方式；婉拒时请选择原因，企业会看到原因。", "Once you accept, both sides see each other's contacts; if you decline, choose a reason, which the enterprise sees."),
 "expert.consult_hint": ("为村合作社提供免费技术咨询，合作社确认后按公益咨询标准获得道德积分；有偿服务不计积分。", "A free consultation to a village cooperative earns moral points under the published standard once the cooperative confirms; paid work never does."),
 "expert.cooperative": ("合作社", "Cooperative"), "expert.day": ("日期", "Day"), "expert.hours": ("小时数", "Hours"), "expert.topic": ("咨询内容", "Topic"), "expert.record": ("登记咨询", "Record"),
}
for code, zh, en in [("open", "征集中", "open"), ("matched", "已对接", "matched"), ("contracted", "已签约", "contracted"), ("closed", "已关闭", "closed")]:
    M[f"market.status.{code}"] = (zh, en)
for code, zh, en in [("under_100k", "10万元以下", "under ¥100k"), ("100k_500k", "10–50万元", "¥100k–500k"), ("500k_2m", "50–200万元", "¥500k–2m"), ("2m_10m", "200–1000万元", "¥2m–10m"), ("over_10m", "1000万元以上", "over ¥10m"), ("negotiable", "面议", "negotiable")]:
    M[f"market.band.{code}"] = (zh, en)
for code, zh, en in [("too_early", "技术尚不成熟", "too early"), ("benefit_unclear", "效益不明确", "benefit unclear"), ("price", "价格不合适", "price"), ("not_our_field", "不属于本人领域", "not our field"), ("no_capacity", "近期没有时间", "no capacity now"), ("other", "其他原因", "other")]:
    M[f"market.reason.{code}"] = (zh, en)
for code, zh, en in [("asked", "等待答复", "awaiting an answer"), ("accepted", "已同意", "accepted"), ("declined", "已婉拒", "declined"), ("withdrawn", "已撤回", "withdrawn")]:
    M[f"market.intro.{code}"] = (zh, en)
for code, zh, en in [("transfer", "转让", "transfer"), ("licence", "许可", "licence"), ("joint_development", "合作开发", "joint development")]:
    M[f"market.licensing.{code}"] = (zh, en)
for code, zh, en in [("invention_patent", "发明专利", "invention patent"), ("utility_model", "实用新型专利", "utility model"), ("software_copyright", "软件著作权", "software copyright"), ("plant_variety", "植物新品种权", "plant variety right"), ("know_how", "技术秘密", "know-how")]:
    M[f"market.ip.{code}"] = (zh, en)
for code, zh, en in [("company", "企业", "company"), ("cooperative", "村合作社", "village cooperative"), ("institution", "事业单位", "institution")]:
    M[f"market.kind.{code}"] = (zh, en)
for code, zh, en in [("development", "技术开发", "development"), ("transfer", "技术转让", "transfer"), ("consulting", "技术咨询", "consulting"), ("service", "技术服务", "service")]:
    M[f"market.contract.{code}"] = (zh, en)
for code, zh, en in [("available", "可接洽", "available"), ("limited", "时间有限", "limited"), ("unavailable", "暂不接洽", "unavailable")]:
    M[f"market.avail.{code}"] = (zh, en)
for code, zh, en in [("claimed", "待合作社确认", "awaiting the cooperative"), ("confirmed", "合作社已确认", "confirmed"), ("refused", "合作社未确认", "not confirmed")]:
    M[f"market.consult.{code}"] = (zh, en)
for code, zh, en in [("published", "发布需求", "published"), ("matched", "对接成功", "matched"), ("contracted", "签订合同", "contract recorded"), ("closed", "关闭", "closed"), ("pinned", "科技红娘置顶推荐", "pinned"), ("unpinned", "取消置顶", "unpinned"), ("open", "重新征集", "reopened")]:
    M[f"market.log.{code}"] = (zh, en)
for code, zh, en in [("expert", "专家的联系方式", "the expert's contacts"), ("enterprise", "企业的联系方式", "the enterprise's contacts")]:
    M[f"market.whose.{code}"] = (zh, en)
# Field errors of the market's forms, by code.
for code, zh, en in [
    ("industry_unknown", "不是目录中的国民经济行业分类（GB/T 4754-2017）代码", "not a GB/T 4754-2017 division on the list"),
    ("discipline_unknown", "不是目录中的学科分类（GB/T 13745-2009）代码", "not a GB/T 13745-2009 subject on the list"),
    ("unknown_choice", "请从列表中选择", "choose one from the list"),
    ("checksum", "最后一位校验码不对，请核对", "its check character does not match; check it"),
    ("not_in_future", "应晚于今天", "must be after today"), ("too_far", "最多一年以内", "at most a year ahead"),
    ("keyword_too_long", "每个关键词最多20字", "each keyword at most 20 characters"),
    ("enterprise_registered", "这个统一社会信用代码的企业已登记", "an enterprise with this credit code is registered"),
    ("unknown_town", "请选择本市的镇（街道）", "choose one of the city's towns"),
    ("enterprise_suspended", "本企业已被暂停，请联系科技超市", "this enterprise is suspended; contact the office"),
    ("demand_not_open", "这项需求已不再接受对接申请", "this demand takes no more introductions"),
    ("too_many_open_asks", "待答复的对接申请已达20个，请等对方答复后再申请", "20 asks are awaiting answers; wait for answers first"),
    ("already_asked", "已经申请过这项对接", "you have already asked for this introduction"),
    ("expert_unavailable", "这位专家暂不接洽", "this expert takes no introductions at present"),
    ("own_achievement", "这是本企业自己的成果", "this achievement is your own"),
    ("unknown_event", "没有这场对接活动", "no such matchmaking event"),
    ("not_your_step", "这一步不由您操作", "this step is not yours to take"),
    ("already_answered", "这项对接已经答复过了", "this introduction was already answered"),
    ("not_accepted", "对方同意对接后才能进行这一步", "only after the introduction is accepted"),
    ("not_matched", "需求尚未对接成功", "the demand has no accepted introduction yet"),
    ("demand_closed", "需求已关闭", "the demand is closed"),
    ("contract_recorded", "这项对接已登记过合同", "a contract is already recorded for this introduction"),
    ("already_registered", "这份合同已有认定登记号", "this contract already has a registration number"),
    ("session_over", "这个场次已经结束", "this session is over"),
    ("unknown_ticket", "没有这个签到码", "no sign-up has this ticket"),
    ("not_seated", "这个签到码是候补或已取消的", "this ticket is for the waiting list or was cancelled"),
    ("not_now", "签到在开始前两小时开放，结束时关闭", "check-in opens two hours before and closes at the end"),
    ("invalid_window", "场次应在将来开始，并在开始后结束", "a session starts in the future and ends after it starts"),
    ("unknown_expert", "专家库中没有这个编号", "no expert in the pool has this number"),
    ("owner_required", "请填写成果所有人的专家编号，或选择所有单位", "name the owner's expert number or choose an organisation"),
    ("consent_required", "请先阅读并同意说明", "agree to the consent first"),
    ("not_a_cooperative", "请选择已登记的村合作社", "choose a registered village cooperative"),
    ("already_recorded", "同一天给这个合作社的咨询已登记", "a consultation to this cooperative on this day is already recorded"),
    ("already_decided", "这次咨询已经确认或否认过了", "this consultation was already decided"),
    ("invalid_email", "请填写有效的邮箱地址", "an address like name@example.cn"),
    ("control_characters", "含有不可见的控制字符", "holds control characters"),
    ("too_many", "数量超过上限", "too many"),
]:
    M[f"error.{code}"] = (zh, en)
