//! From a request to a category, a tier, a confidence and a why.
//!
//! The text part is a scored match of compiled regexes over the user's own
//! words: each built-in rule carries a weight (how sure a match makes us), a
//! category's score is its strongest rule plus a little for every further rule
//! that matched, and the best score wins. Equal scores go to the more specific
//! category ([`PRIORITY`]). Custom patterns from the catalog are tried first
//! and the first match wins outright.
//!
//! Only [`HEAD_BYTES`] from the start and [`TAIL_BYTES`] from the end of the
//! user's words are scanned: the ask sits at the start, or at the end after a
//! pasted log or file, and a 100 KB paste must not cost 100 KB of regex work
//! per request. Length itself is still a signal (see `apply_signals`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::{RegexSet, RegexSetBuilder};

use super::scope::{Scope, ScopeSignals};
use super::shape::{Shape, ShapeRules};
use super::tags::{find_override_tag, user_own_text};
use super::{Classification, RouteInput, RouterError};
use crate::catalog::{Catalog, Category, Tier};

/// Bytes scanned from the start of the user's words.
pub(super) const HEAD_BYTES: usize = 4096;
/// Bytes scanned from the end of the user's words.
pub(super) const TAIL_BYTES: usize = 2048;

/// Estimated tokens (chars / 4) above which a request needs at least mid.
const LONG_CONTEXT_TOKENS: usize = 50_000;
/// User text this long, or with this many questions, is a deep multi-part ask.
const LONG_ASK_CHARS: usize = 2_000;
const MANY_QUESTIONS: usize = 3;
/// An ask longer than this that matches no category is not small talk: when
/// unsure, it goes to mid rather than low.
const UNSURE_ASK_CHARS: usize = 80;

/// Tie-break order when two categories score the same: most specific first.
const PRIORITY: [Category; 9] = [
    Category::Heartbeat,
    Category::Translation,
    Category::Summarization,
    Category::Reasoning,
    Category::Analysis,
    Category::Coding,
    Category::Creative,
    Category::Lookup,
    Category::SimpleChat,
];

pub(super) struct Classifier {
    custom: RegexSet,
    custom_rules: Vec<(String, Category)>,
    builtin: RegexSet,
    scope: ScopeSignals,
    shape: ShapeRules,
    tiers: BTreeMap<Category, Tier>,
}

/// What the user's words alone say.
struct TextVerdict {
    category: Category,
    confidence: f32,
    evidence: String,
    /// No pattern matched (or there were no words): other signals may decide.
    unclear: bool,
    /// A custom pattern from the catalog decided: scope and shape do not apply.
    custom: bool,
    /// A category that scored close to the winner and maps to a higher tier.
    higher_rival: Option<Category>,
}

impl Classifier {
    pub(super) fn new(catalog: &Catalog) -> Result<Self, RouterError> {
        let rules = &catalog.routing().custom_patterns;
        let custom = RegexSetBuilder::new(rules.iter().map(|p| p.pattern.as_str()))
            .case_insensitive(true)
            .build()
            .map_err(|source| RouterError::InvalidPattern {
                pattern: first_invalid(rules.iter().map(|p| p.pattern.as_str())),
                source,
            })?;
        let builtin = RegexSetBuilder::new(RULES.iter().map(|r| ascii_word_boundaries(r.pattern)))
            .case_insensitive(true)
            .build()
            .map_err(|source| RouterError::InvalidPattern {
                pattern: first_invalid(RULES.iter().map(|r| r.pattern)),
                source,
            })?;
        let internal = |source| RouterError::InvalidPattern {
            pattern: "built-in scope or shape signals".to_owned(),
            source,
        };
        Ok(Self {
            scope: ScopeSignals::new().map_err(internal)?,
            shape: ShapeRules::new().map_err(internal)?,
            custom,
            custom_rules: rules
                .iter()
                .map(|p| (p.pattern.clone(), p.category))
                .collect(),
            builtin,
            tiers: catalog.routing().categories.clone(),
        })
    }

    pub(super) fn tier_of(&self, category: Category) -> Tier {
        self.tiers
            .get(&category)
            .copied()
            .unwrap_or(category.default_tier())
    }

    pub(super) fn classify(&self, input: &RouteInput) -> Classification {
        let own = user_own_text(input.user_text);
        let (tag, words) = match find_override_tag(own) {
            Some((tier, range)) => (Some(tier), &own[range.end..]),
            None => (None, own),
        };
        let words = words.trim();
        let window = scan_window(words);
        let verdict = self.classify_text(&window);
        match tag {
            Some(tier) => Classification {
                category: verdict.category,
                tier,
                confidence: 1.0,
                why: format!(
                    "override tag → {tier} (text reads as {}: {})",
                    verdict.category, verdict.evidence
                ),
                tag,
            },
            None => self.apply_signals(verdict, input, words, &window),
        }
    }

    fn classify_text(&self, window: &str) -> TextVerdict {
        if window.is_empty() {
            return TextVerdict {
                category: Category::Heartbeat,
                confidence: 0.9,
                evidence: "empty message".to_owned(),
                unclear: true,
                custom: false,
                higher_rival: None,
            };
        }
        if let Some((pattern, category)) = self
            .custom
            .matches(window)
            .iter()
            .next()
            .and_then(|i| self.custom_rules.get(i))
        {
            return TextVerdict {
                category: *category,
                confidence: 0.9,
                evidence: format!("custom pattern `{pattern}`"),
                unclear: false,
                custom: true,
                higher_rival: None,
            };
        }
        let mut scores: BTreeMap<Category, (f32, Vec<&'static str>)> = BTreeMap::new();
        for rule in self
            .builtin
            .matches(window)
            .iter()
            .filter_map(|i| RULES.get(i))
        {
            let (best, evidence) = scores.entry(rule.category).or_default();
            *best = if evidence.is_empty() {
                rule.weight
            } else {
                (best.max(rule.weight) + 0.03).min(0.97)
            };
            evidence.push(rule.evidence);
        }
        let rank = |c: &Category| {
            PRIORITY
                .iter()
                .position(|p| p == c)
                .unwrap_or(PRIORITY.len())
        };
        let mut ranked: Vec<_> = scores.into_iter().collect();
        ranked
            .sort_by(|(ca, (sa, _)), (cb, (sb, _))| sb.total_cmp(sa).then(rank(ca).cmp(&rank(cb))));
        let mut ranked = ranked.into_iter();
        let Some((category, (score, evidence))) = ranked.next() else {
            return TextVerdict {
                category: Category::SimpleChat,
                confidence: 0.4,
                evidence: "no pattern matched (default)".to_owned(),
                unclear: true,
                custom: false,
                higher_rival: None,
            };
        };
        let mut verdict = TextVerdict {
            category,
            confidence: score,
            evidence: format!("matched {}", evidence.join(", ")),
            unclear: false,
            custom: false,
            higher_rival: None,
        };
        // A close runner-up that would route elsewhere makes us less sure.
        if let Some((rival, _)) = ranked
            .find(|(c, (s, _))| self.tier_of(*c) != self.tier_of(category) && *s >= score - 0.1)
        {
            verdict.confidence -= 0.1;
            if self.tier_of(rival) > self.tier_of(category) {
                verdict.higher_rival = Some(rival);
            }
            verdict
                .evidence
                .push_str(&format!(" (also looks like {rival})"));
        }
        verdict
    }

    /// What the text says beyond its category: the scope of the task (which
    /// can lift it to top) and the shape of the ask (a question of fact or a
    /// mechanical edit, which can bring a coding-looking ask down to low).
    /// Only a clear shape with no sign of scope goes down; when unsure, up.
    fn apply_scope_and_shape(
        &self,
        verdict: &mut TextVerdict,
        words: &str,
        window: &str,
        why: &mut Vec<String>,
    ) -> Tier {
        let tier = self.tier_of(verdict.category);
        if verdict.custom || words.is_empty() {
            return tier;
        }
        // Translating or summarising a text about a migration is not a migration.
        let scope = match verdict.category {
            Category::Translation | Category::Summarization => Scope::default(),
            _ => self.scope.measure(window),
        };
        if scope.is_top() {
            if !matches!(
                verdict.category,
                Category::Coding | Category::Reasoning | Category::Analysis
            ) {
                verdict.category = Category::Analysis;
            }
            verdict.confidence = verdict.confidence.max(0.6 + scope.weight / 10.0).min(0.9);
            why.push(format!("scope: {}", scope.evidence.join(", ")));
            return Tier::Top;
        }
        let no_scope = scope.weight < 0.5;
        let lowerable =
            matches!(verdict.category, Category::Coding | Category::Lookup) || verdict.unclear;
        let shape = self.shape.shape(window);
        match shape {
            Shape::FactQuestion if no_scope && lowerable => {
                if verdict.category != Category::Lookup {
                    why.push("a question of fact, not work".to_owned());
                }
                verdict.category = Category::Lookup;
                verdict.confidence = verdict.confidence.max(0.7);
                verdict.unclear = false;
                return Tier::Low;
            }
            Shape::TrivialEdit if no_scope && verdict.category == Category::Coding => {
                why.push("a mechanical edit".to_owned());
                return Tier::Low;
            }
            _ => {}
        }
        if !scope.is_empty() {
            why.push(format!("some scope ({})", scope.evidence.join(", ")));
        }
        if let Some(rival) = verdict.higher_rival {
            let up = self.tier_of(rival);
            why.push(format!("close to {rival} → {up} (when unsure, up)"));
            verdict.category = rival;
            return up;
        }
        let chars = words.chars().count();
        if verdict.unclear
            && tier == Tier::Low
            && (chars > UNSURE_ASK_CHARS || shape == Shape::Work)
        {
            why.push(format!(
                "no category for a {chars}-char ask that reads as work → mid (when unsure, up)"
            ));
            return Tier::Mid;
        }
        tier
    }

    /// Request signals on top of the text: agent loops, images, thinking, long
    /// context and long multi-part asks.
    fn apply_signals(
        &self,
        mut verdict: TextVerdict,
        input: &RouteInput,
        words: &str,
        window: &str,
    ) -> Classification {
        let ask_len = words.len();
        if input.tool_results_in_flight && verdict.unclear {
            verdict = TextVerdict {
                category: Category::Coding,
                confidence: 0.7,
                evidence: format!(
                    "tool results in flight, no clear ask ({})",
                    verdict.evidence
                ),
                unclear: false,
                custom: false,
                higher_rival: None,
            };
        }
        let mut why = Vec::new();
        let mut tier = self.apply_scope_and_shape(&mut verdict, words, window, &mut why);
        let category = verdict.category;
        let mut confidence = verdict.confidence;
        why.insert(0, format!("{category}: {}", verdict.evidence));

        let questions = window.matches(['?', '？']).count();
        if (ask_len > LONG_ASK_CHARS || questions >= MANY_QUESTIONS)
            && let Some(up) = tier_above(tier)
        {
            tier = up;
            confidence *= 0.8;
            why.push(format!(
                "deep multi-part ask ({ask_len} chars, {questions} questions) → one tier up"
            ));
        }

        let est_tokens = input.context_chars / 4;
        let floors = [
            (
                input.tool_results_in_flight,
                "tool results in flight (agent loop)".to_owned(),
                0.8,
            ),
            (
                input.has_tools && !input.tool_results_in_flight,
                "tools present (agent loop)".to_owned(),
                0.8,
            ),
            (input.has_images, "images attached".to_owned(), 0.8),
            (
                input.thinking_requested,
                "thinking requested".to_owned(),
                0.75,
            ),
            (
                est_tokens > LONG_CONTEXT_TOKENS,
                format!("long context (~{}k tokens)", est_tokens / 1000),
                0.85,
            ),
        ];
        for (applies, signal, strength) in floors {
            if !applies {
                continue;
            }
            if tier == Tier::Low {
                tier = Tier::Mid;
                confidence = confidence.max(strength);
            }
            why.push(signal);
        }
        Classification {
            category,
            tier,
            confidence: round2(confidence),
            why: format!("{} → {tier}", why.join("; ")),
            tag: None,
        }
    }
}

fn tier_above(tier: Tier) -> Option<Tier> {
    match tier {
        Tier::Low => Some(Tier::Mid),
        Tier::Mid => Some(Tier::Top),
        Tier::Top => None,
    }
}

fn round2(x: f32) -> f32 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// The part of the user's words the regexes see: all of it when short, else
/// the head and the tail joined by a newline.
pub(super) fn scan_window(words: &str) -> Cow<'_, str> {
    if words.len() <= HEAD_BYTES + TAIL_BYTES {
        return Cow::Borrowed(words);
    }
    let head = &words[..floor_boundary(words, HEAD_BYTES)];
    let tail = &words[ceil_boundary(words, words.len() - TAIL_BYTES)..];
    Cow::Owned(format!("{head}\n{tail}"))
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// `pattern` with each `\b` made an ASCII word boundary, which keeps the lazy
/// DFA usable on non-ASCII text (a Unicode `\b` forces the much slower NFA).
pub(super) fn ascii_word_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// The first pattern that does not compile on its own, for the error message.
fn first_invalid<'a>(mut patterns: impl Iterator<Item = &'a str>) -> String {
    patterns
        .find(|p| regex::Regex::new(p).is_err())
        .unwrap_or_default()
        .to_owned()
}

struct Rule {
    category: Category,
    /// How sure a match alone makes us (0–1).
    weight: f32,
    /// Names the evidence in `why`.
    evidence: &'static str,
    pattern: &'static str,
}

/// Natural languages a translation asks for (a `concat!` piece).
macro_rules! languages {
    () => {
        "english|french|spanish|german|italian|portuguese|dutch|russian|chinese|mandarin|cantonese|japanese|korean|arabic|hindi|bengali|urdu|turkish|polish|swedish|norwegian|danish|finnish|greek|hebrew|thai|vietnamese|indonesian|malay|ukrainian|czech|romanian|hungarian|persian|farsi|swahili|latin|tagalog|catalan"
    };
}

macro_rules! rule {
    ($category:ident, $weight:expr, $evidence:expr, $pattern:expr) => {
        Rule {
            category: Category::$category,
            weight: $weight,
            evidence: $evidence,
            pattern: $pattern,
        }
    };
}

/// The built-in rules, matched case-insensitively; `\b` is an ASCII word
/// boundary. Whole-message rules (`\A…\z`) only fire on short messages.
const RULES: &[Rule] = &[
    // heartbeat: liveness probes, whole message only
    rule!(
        Heartbeat,
        0.95,
        "liveness probe",
        r#"\A[\s!?.,:;'"()-]*(?:ping|pong|hi|test(?:ing)?(?:[\s,]*\d+)*|status|health ?check|are you (?:there|alive|up|awake|working)|you there|still there|alive)[\s!?.,:;'"()-]*\z"#
    ),
    // simple-chat: short greetings, thanks, small talk
    rule!(
        SimpleChat,
        0.7,
        "greeting",
        r"\A\W*(?:hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|hi)\b[^\n]{0,40}\z"
    ),
    rule!(
        SimpleChat,
        0.7,
        "thanks or acknowledgement",
        r"\A\W*(?:thanks|thank you|thx|ty|cheers|great|awesome|cool|nice|ok|okay|got it|sounds good|perfect|bye|goodbye|see you|lol|haha|yes|no|sure)\b[^\n]{0,40}\z"
    ),
    rule!(
        SimpleChat,
        0.8,
        "small talk",
        r"\A\W*(?:how are you|how's it going|how is it going|what's up|whats up|who are you|what are you|what can you do|nice to meet you|how have you been|tell me about yourself)\b[^\n]{0,40}\z"
    ),
    rule!(
        SimpleChat,
        0.7,
        "greeting or thanks",
        r"\A[\W]*(?:你好|您好|嗨|谢谢|多谢|好的|こんにちは|こんばんは|おはよう|ありがとう|了解|hallo|servus|moin|danke|hola|gracias|buenos d[ií]as|bonjour|salut|merci|привет|здравствуй|спасибо|ol[aá]|oi|obrigad|valeu)[^\n]{0,40}\z"
    ),
    // lookup: short factual questions
    rule!(
        Lookup,
        0.75,
        "short factual question",
        r"\A\W*(?:what(?:'s| is| are| was| were)|who(?:'s| is| was| were)|when (?:did|was|is|were|does)|where (?:is|was|are|do)|which (?:is|was|country|city)|how (?:many|much|tall|old|far|long|big)|define|definition of|meaning of)\b[^\n]{0,100}\z"
    ),
    rule!(
        Lookup,
        0.85,
        "factual phrase",
        r"\A[^\n]{0,80}\b(?:capital (?:city )?of|population of|date of birth|born in|what year|stands? for|abbreviation (?:of|for)|synonyms? (?:of|for)|antonyms? (?:of|for)|how do you spell|spelling of)\b[^\n]{0,80}\z"
    ),
    rule!(
        Lookup,
        0.65,
        "short explanation request",
        r"\A\W*(?:explain|describe|tell me about|how does|how do|what does)\b[^\n]{0,150}\z"
    ),
    // translation
    rule!(
        Translation,
        0.9,
        "translate into a language",
        concat!(
            r"\btranslat(?:e|ion|ing)\b[^\n]{0,200}?\b(?:in|into|to)\s+(?:",
            languages!(),
            r")\b"
        )
    ),
    rule!(Translation, 0.75, "translate", r"\btranslat(?:e|ion|ing)\b"),
    rule!(
        Translation,
        0.85,
        "how do you say",
        r"\bhow (?:do|would|to) (?:you |i )?say\b"
    ),
    rule!(
        Translation,
        0.8,
        "ends with 'in <language>'",
        concat!(r"\bin (?:", languages!(), r")\W*\z")
    ),
    rule!(
        Translation,
        0.9,
        "translate (other languages)",
        r"翻译|翻訳|übersetz|tradu(?:ce|z|zir|cir|is|ire|ção|cción)\b|перевед|перевод"
    ),
    // summarization
    rule!(
        Summarization,
        0.85,
        "summary request",
        r"\b(?:summari[sz](?:e|es|ed|ing)|summary|summarization|tl;?dr|key (?:points|takeaways)|main (?:points|ideas)|gist|condense|recap|in a nutshell|executive summary)\b"
    ),
    rule!(
        Summarization,
        0.85,
        "summary request (other languages)",
        r"总结|概括|摘要|要約|要点|zusammenfass|resume (?:este|esta|esse|essa)|resumen|resumo|resuma|resumir|résum|кратко|резюм|суммир|перескажи"
    ),
    // coding
    rule!(Coding, 0.9, "code block", r"```"),
    rule!(
        Coding,
        0.85,
        "file name",
        r"\b[\w./-]+\.(?:rs|py|js|mjs|ts|tsx|jsx|go|java|kt|c|cc|cpp|h|hpp|cs|rb|php|swift|scala|sh|sql|toml|ya?ml|json|lock|css|scss|html|vue|svelte|ipynb|gradle|tf)\b"
    ),
    // A language or product name alone is weak evidence: "who wrote the rust
    // book?" is a lookup, "compare React and Vue" an analysis.
    rule!(
        Coding,
        0.6,
        "programming language",
        r"\b(?:python|rust|rustc|javascript|typescript|java|kotlin|swift|golang|ruby|php|scala|haskell|elixir|erlang|clojure|ocaml|lua|perl|bash|zsh|powershell|html|css|react|vue|angular|svelte|django|flask|fastapi|rails|nodejs|node\.js|deno|sql|postgres(?:ql)?|mysql|sqlite|graphql|terraform|kubernetes|docker(?:file)?|webassembly|wasm)\b|(?:\A|\W)(?:c\+\+|c#|f#)"
    ),
    rule!(
        Coding,
        0.8,
        "programming term",
        r"\b(?:functions?|methods?|class|struct|enum|trait|interface|variables?|compiler|compil(?:e|es|ed|ing|ation)|bugs?|debug(?:ging)?|refactor(?:ing)?|regex(?:es)?|regular expression|unit tests?|test suite|api|endpoint|sdk|cli|stack ?trace|traceback|segfault|exception|null pointer|runtime error|syntax error|type error|linter|dependency|dependencies|package manager|scripts?|parser|parse|npm|cargo|pip|git|commit|merge conflict|pull request|code review|codebase|repo|repository|implementation|snippet|algorithm|data structure|async|mutex|deadlock|memory leak|borrow checker)\b"
    ),
    rule!(
        Coding,
        0.85,
        "code syntax",
        r"(?m)(?:^\s*(?:fn|def|func|pub fn|async fn|impl|import|from \S+ import|#include|package|let|const|var|return)\s+\S|=>|::\w|\w\(\)|[{;]\s*$)"
    ),
    rule!(
        Coding,
        0.85,
        "error output",
        r"\b(?:error(?:\[E\d+\])?:|panicked at|Traceback \(most recent call last\)|Exception in thread|undefined is not|cannot find (?:module|symbol|value|type)|is not defined|command not found|exit code \d+|failed to compile|does(?:n't| not) compile|won't compile)"
    ),
    rule!(
        Coding,
        0.7,
        "code change request",
        r"\A\W*(?:add|implement|fix|rename|migrate|wire up|hook up|set up|deploy|install|configure|run)\b[^\n]{0,200}\b(?:page|button|toggle|component|module|endpoint|handler|route|field|column|table|schema|tests?|config|feature|flag|screen|view|service|server|build|ci|pipeline|lint|types?)\b"
    ),
    rule!(
        Coding,
        0.8,
        "programming term (other languages)",
        r"函数|代码|报错|接口|中间件|類型|类型|関数|コード|エラー|テスト|バリデーション|docstring|Funktion|Fehler|Klasse|Unit-Test|funci[oó]n\b|error al|formulario|validaci[oó]n|fonction|bouton|erreur|функци|ошибк|обработчик|логировани|fun[cç][aã]o|\berro\b|\btestes\b"
    ),
    // creative
    rule!(
        Creative,
        0.9,
        "asks for a creative piece",
        r"\b(?:write|compose|create|make up|come up with|draft|give me|generate)\b[^\n]{0,60}?\b(?:poems?|poetry|haiku|limerick|sonnet|ode|verse|story|stories|short story|fable|fairy ?tale|tale|lyrics|song|rap|ballad|jingle|slogans?|taglines?|motto|screenplay|monologue|jokes?|puns?|riddle|toast|wedding speech|eulogy|names? for|name ideas|ideas for)\b"
    ),
    rule!(
        Creative,
        0.75,
        "creative form",
        r"\b(?:poem|limerick|lyrics|slogan|tagline|jingle|fairy ?tale|bedtime story|short story|fan ?fiction|screenplay|rhymes?|brainstorm)\b"
    ),
    rule!(
        Creative,
        0.75,
        "writing request",
        r"\b(?:write|draft|compose)\b[^\n]{0,40}?\b(?:email|e-mail|letter|cover letter|essay|blog post|article|speech|bio|product description|tweet|newsletter)\b"
    ),
    rule!(
        Creative,
        0.8,
        "creative piece (other languages)",
        r"诗|詩|Gedicht|poema|po[eè]me|стихотворени|eslogan|Absage|mensagem de boas-vindas|сказк|histoire|cuento|hist[oó]ria"
    ),
    // reasoning
    rule!(
        Reasoning,
        0.9,
        "proof or derivation",
        r"\b(?:prove|proof|disprove|derive|derivation|theorem|lemma|corollary|show that|demonstrate that|by induction|contradiction|counterexample|justify (?:it |this |your answer )?formally|syllogism|(?:is|are) (?:this|these|the following) arguments? valid)\b"
    ),
    rule!(
        Reasoning,
        0.85,
        "step-by-step reasoning",
        r"\b(?:step[- ]by[- ]step|think (?:hard|harder|carefully|deeply|it through)|ultrathink|reason (?:through|about|carefully|it (?:out|through))|explain carefully|chain of thought|logic(?:al)? puzzle|puzzle|brain ?teaser|paradox|dilemma)\b"
    ),
    rule!(
        Reasoning,
        0.8,
        "math",
        r"\b(?:solve (?:for|the equation|this equation)|equation|integral|integrate|derivative|differentiate|calculus|algebra|probability|expected value|combinatorics|permutations?|how many ways|irrational|square root|prime numbers?|modulo|matrix|eigen\w*|big-?o|time complexity)\b|\bsqrt\b|[√∫∑]"
    ),
    rule!(Reasoning, 0.7, "arithmetic", r"\d\s*[\^*/×÷]\s*\d"),
    rule!(
        Reasoning,
        0.75,
        "why-question",
        r"\bwhy (?:does|do|is|are|did|would|can't|cannot|doesn't|don't|isn't|aren't)\b"
    ),
    rule!(
        Reasoning,
        0.9,
        "proof (other languages)",
        r"证明|証明|beweise|demuestra|demostrar|d[ée]montre|prouve|докажи|доказать|demonstre|prove que"
    ),
    // analysis
    rule!(
        Analysis,
        0.85,
        "analysis request",
        r"\b(?:analy[sz](?:e|es|ed|ing)|analysis|evaluate|evaluation|assess|assessment|critique|critically|trade-?offs?|pros and cons|strengths and weaknesses|swot|root cause|implications|deep dive|in-depth|investigate|feasibility|risk assessment)\b"
    ),
    rule!(
        Analysis,
        0.75,
        "comparison",
        r"\b(?:compare|comparing|comparison|contrast|versus|vs\.?\s+(?:[^c\s]|c[^o]|co[^d])|better than|differences? between|which (?:is|one is) better|should (?:i|we) (?:use|choose|pick))\b"
    ),
    rule!(
        Analysis,
        0.85,
        "architecture or strategy",
        r"\b(?:architecture|architectural|system design|design (?:a|the|our) (?:system|service|platform)|scalab(?:le|ility)|strategy|strategic|roadmap|business plan|market (?:analysis|research)|due diligence)\b"
    ),
    rule!(
        Analysis,
        0.75,
        "comparison (other languages)",
        r"比较|对比|比較|vergleiche|compara|сравни"
    ),
    rule!(
        Analysis,
        0.85,
        "analysis request (other languages)",
        r"分析|评估|評価|analysier|bewerte|analiza|[ée]value|analyse|проанализ|оцени|analise|avalie"
    ),
];
