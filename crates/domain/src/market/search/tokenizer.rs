//! The Chinese segmenter shared by indexing, querying and explaining: jieba in search mode over a
//! dictionary that knows this market's words, then a filter that drops punctuation, numbers and
//! stop words. The same [`Segmenter`] is registered on the tantivy index (as [`ZhTokenizer`]) and
//! used to cut queries and candidate texts, so a term in an explanation is always a term the index
//! saw.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::{AchievementDoc, ExpertDoc};
use crate::market::codes;

/// The name the tokenizer is registered under on each index.
pub(crate) const TOKENIZER_NAME: &str = "zh_jieba_search";

/// Words dropped from documents and queries alike, chosen to carry no subject in a technology
/// market: function words and fillers (一套, 严重, 熟悉), the asking phrases every demand repeats
/// (需要, 希望, 寻找, 解决, 问题, 专家, 合作), who is asking (我们, 公司, 企业), single characters that
/// say nothing alone (做, 用, 大, numerals) and 技术 itself, which every profile and demand here
/// contains. Deliberately kept: 研发, 工艺, 检测, 设备, 材料, 控制, 加工, 生产 — generic to some, but
/// they separate a process engineer from a material scientist, and BM25's idf already weighs them
/// down where they are common; and every single character not listed (镍, 铬, 虾, 膜, 泵 name a
/// subject).
const STOP_WORDS: &[&str] = &[
    // function words
    "的 地 得 了 着 过 是 在 和 与 及 及其 以及 或 或者 等 等等 对 对于 为 为了 把 被 将 从 向 以 并 并且 而 也 \
     都 就 又 还 这 那 这些 那些 这个 其 之 中 上 下 个 一 一个 一些 一种 一直 有 没有 很 较 比较 非常 目前 \
     现在 近期 最近 通过 如何 怎么 怎样 什么 哪些 是否 能否 可以 能 能够 要 想 会 已 已经 但 但是 因为 所以 \
     如果 由于 同时 方面 方式 情况 方法 主要 包括 其他 各种 多 多个 不 不能 不够 问 请 而且 还有 另外 顺便 \
     容易 经常 只有 左右 出现 导致 听说 看看 有没有 最好 考虑 打算 准备 计划 利用 实现 熟悉 明显 严重 效果",
    // the asking phrases of a demand, and its fillers
    "需要 需求 希望 寻找 寻求 求 找 想要 急需 欢迎 解决 问题 帮助 帮忙 合作 对接 提供 进行 开展 相关 专家 \
     团队 指导 咨询 服务 支持 联系 有意 意向 一家 一套 一批 一款 一条 一下 今年 每年 每天 两年 近两年",
    // who is asking
    "我 我们 我司 本 本公司 公司 企业 厂家 单位 贵 您",
    // single characters that say nothing alone (a word they belong to is cut whole anyway)
    "做 用 大 小 高 低 少 来 去 到 后 前 时 里 让 给 件 台 套 条 批 次 种 些 很 太 再 更 最 该 此 每 各 另 却 \
     只 才 正 好 懂 加 成 两 三 四 五 六 七 八 九 十 百 千 万 年 月 日 天 第",
    // everywhere in a technology market
    "技术",
];

/// Long keywords are not added to the dictionary: a whole sentence as one "word" would hide the
/// words inside it (jieba's search mode only offers a long word's 2- and 3-character parts).
const USER_WORD_CHARS_MAX: usize = 8;
/// A token this long or longer also yields the dictionary words of 4 characters or more inside
/// it, so 工业互联网平台 is found by 工业互联网 (search mode alone only offers 2- and 3-character
/// parts).
const LONG_TOKEN_CHARS_MIN: usize = 5;
/// Longer tokens (a run of letters, a pasted code) are not searched inside: the search is
/// quadratic in the token's length and no dictionary word lives in such a run.
const LONG_TOKEN_CHARS_MAX: usize = 16;

/// One token with its byte range in the text it was cut from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Lowercased (ASCII) token text.
    pub text: String,
    pub from: usize,
    pub to: usize,
}

/// jieba with this index's user dictionary, cheap to clone (the dictionary is shared).
#[derive(Clone)]
pub(crate) struct Segmenter {
    jieba: Arc<Jieba>,
    stop: Arc<HashSet<&'static str>>,
}

impl Segmenter {
    /// jieba's default dictionary plus `user_words`, each kept whole.
    pub fn new(user_words: &BTreeSet<String>) -> Segmenter {
        let mut jieba = Jieba::new();
        for word in user_words {
            jieba.add_word(word, None, None);
        }
        Segmenter {
            jieba: Arc::new(jieba),
            stop: Arc::new(
                STOP_WORDS
                    .iter()
                    .flat_map(|group| group.split_whitespace())
                    .collect(),
            ),
        }
    }

    /// Every kept token in text order (search mode: a long word and its parts), duplicates
    /// included.
    pub fn pieces(&self, text: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        for token in self.jieba.cut_for_search(text, true) {
            self.push_piece(&mut out, token.word, token.byte_start);
            let chars = token.end - token.start;
            if (LONG_TOKEN_CHARS_MIN..=LONG_TOKEN_CHARS_MAX).contains(&chars) {
                self.push_inner_words(&mut out, token.word, token.byte_start);
            }
        }
        out
    }

    /// The distinct kept tokens of `text`, in the order they first appear.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        self.pieces(text)
            .into_iter()
            .map(|p| p.text)
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// The distinct kept tokens of `text`.
    pub fn term_set(&self, text: &str) -> HashSet<String> {
        self.pieces(text).into_iter().map(|p| p.text).collect()
    }

    fn push_piece(&self, out: &mut Vec<Piece>, word: &str, byte_start: usize) {
        if !keep(word) {
            return;
        }
        let text = word.to_ascii_lowercase();
        if self.stop.contains(text.as_str()) {
            return;
        }
        out.push(Piece {
            text,
            from: byte_start,
            to: byte_start + word.len(),
        });
    }

    /// The dictionary words of 4 or more characters strictly inside a long token.
    fn push_inner_words(&self, out: &mut Vec<Piece>, word: &str, byte_start: usize) {
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        let chars = bounds.len() - 1;
        for len in 4..chars {
            for start in 0..=chars - len {
                let inner = &word[bounds[start]..bounds[start + len]];
                if self.jieba.has_word(inner) {
                    self.push_piece(out, inner, byte_start + bounds[start]);
                }
            }
        }
    }
}

/// A token worth indexing: it has a letter or a Han character, and is not a bare number
/// (年产100万件's 100 says nothing about the subject).
fn keep(word: &str) -> bool {
    word.chars().any(char::is_alphabetic)
}

/// The user dictionary: the zh names of the industry and discipline codes (and the parts of a
/// name listed with 、), the achievements' and experts' keywords. Only words of 2 to
/// [`USER_WORD_CHARS_MAX`] characters made of Han characters (ASCII letters and digits allowed
/// inside, as in 5G基站) are added; jieba already keeps pure-ASCII runs whole.
pub(crate) fn user_words(
    experts: &[ExpertDoc],
    achievements: &[AchievementDoc],
) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let code_names = codes::INDUSTRIES
        .iter()
        .chain(codes::DISCIPLINES)
        .map(|c| c.zh);
    for name in code_names {
        add_user_word(&mut words, name);
        if name.contains('、') {
            name.split('、')
                .for_each(|part| add_user_word(&mut words, part));
        }
    }
    let keywords = experts
        .iter()
        .flat_map(|e| &e.keywords)
        .chain(achievements.iter().flat_map(|a| &a.keywords));
    for keyword in keywords {
        add_user_word(&mut words, keyword);
    }
    words
}

fn add_user_word(words: &mut BTreeSet<String>, raw: &str) {
    let word = raw.trim();
    let chars = word.chars().count();
    let han = word.chars().any(is_han);
    let clean = word.chars().all(|c| is_han(c) || c.is_ascii_alphanumeric());
    if han && clean && (2..=USER_WORD_CHARS_MAX).contains(&chars) {
        words.insert(word.to_owned());
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// The [`Segmenter`] as a tantivy tokenizer.
#[derive(Clone)]
pub(crate) struct ZhTokenizer {
    segmenter: Segmenter,
}

impl ZhTokenizer {
    pub fn new(segmenter: Segmenter) -> ZhTokenizer {
        ZhTokenizer { segmenter }
    }
}

/// The tokens of one text, cut up front (jieba works on the whole sentence anyway).
pub(crate) struct ZhTokenStream {
    tokens: std::vec::IntoIter<Token>,
    token: Token,
}

impl Tokenizer for ZhTokenizer {
    type TokenStream<'a> = ZhTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ZhTokenStream {
        let tokens: Vec<Token> = self
            .segmenter
            .pieces(text)
            .into_iter()
            .enumerate()
            .map(|(position, p)| Token {
                offset_from: p.from,
                offset_to: p.to,
                position,
                text: p.text,
                position_length: 1,
            })
            .collect();
        ZhTokenStream {
            tokens: tokens.into_iter(),
            token: Token::default(),
        }
    }
}

impl TokenStream for ZhTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(token) => {
                self.token = token;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segmenter(words: &[&str]) -> Segmenter {
        Segmenter::new(&words.iter().map(|w| (*w).to_owned()).collect())
    }

    #[test]
    fn user_dictionary_words_stay_whole_and_stop_words_go() {
        let s = segmenter(&["伺服电机", "注塑模具", "工业互联网"]);
        let terms = s.terms("我们需要伺服电机和注塑模具的工业互联网技术");
        for whole in ["伺服电机", "注塑模具", "工业互联网"] {
            assert!(
                terms.iter().any(|t| t == whole),
                "{whole} not whole in {terms:?}"
            );
        }
        for stop in ["我们", "需要", "和", "的", "技术"] {
            assert!(!terms.iter().any(|t| t == stop), "{stop} kept in {terms:?}");
        }
    }

    #[test]
    fn ascii_is_lowercased_and_numbers_and_punctuation_dropped() {
        let s = segmenter(&[]);
        let terms = s.terms("PLC控制，年产100万件！MES系统");
        assert!(terms.contains(&"plc".to_owned()), "{terms:?}");
        assert!(terms.contains(&"mes".to_owned()), "{terms:?}");
        assert!(
            !terms.iter().any(|t| t == "100" || t == "，" || t == "！"),
            "{terms:?}"
        );
    }

    #[test]
    fn long_tokens_yield_their_inner_words() {
        let s = segmenter(&["工业互联网平台", "工业互联网"]);
        let terms = s.terms("工业互联网平台");
        assert!(terms.contains(&"工业互联网".to_owned()), "{terms:?}");
        assert!(terms.contains(&"工业互联网平台".to_owned()), "{terms:?}");
    }

    #[test]
    fn the_tantivy_stream_carries_offsets_into_the_text() {
        let mut tokenizer = ZhTokenizer::new(segmenter(&["注塑模具"]));
        let text = "注塑模具设计";
        let mut stream = tokenizer.token_stream(text);
        let mut seen = Vec::new();
        while stream.advance() {
            let t = stream.token();
            assert_eq!(&text[t.offset_from..t.offset_to], t.text);
            seen.push(t.text.clone());
        }
        assert!(seen.contains(&"注塑模具".to_owned()), "{seen:?}");
    }
}
