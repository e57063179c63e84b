//! The shape of the ask, apart from its topic: a question of fact ("what's the
//! default port for PostgreSQL?"), a mechanical edit of a few characters, or
//! work to be done. A product or language name in a question of fact does
//! not make it a coding task; a question that asks why something fails, or
//! carries code to look at, is work.
//!
//! The ask is the user's prose without what they pasted: the first paragraph
//! when the message starts with prose, the last one when it starts with a
//! paste (a traceback, a log, a code block).

use regex::{Regex, RegexSet, RegexSetBuilder};

use super::classify::ascii_word_boundaries;

/// Longest ask (in bytes) that can be a question of fact or a mechanical edit.
const SHORT_ASK: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A short question whose answer is a fact, a command, a name.
    FactQuestion,
    /// A short, mechanical edit: a typo, a rename, a one-line commit message.
    TrivialEdit,
    /// Asks for work to be done (write, fix, add, explain this…).
    Work,
    /// None of these (chat, or words the rules do not know).
    Unknown,
}

pub(super) struct ShapeRules {
    question: RegexSet,
    asks_for_fact: Regex,
    work: Regex,
    trivial: Regex,
    wide: Regex,
    paste_start: Regex,
    sentence_break: Regex,
}

impl ShapeRules {
    pub(super) fn new() -> Result<Self, regex::Error> {
        let build = |p: &str| {
            regex::RegexBuilder::new(&ascii_word_boundaries(p))
                .case_insensitive(true)
                .build()
        };
        Ok(Self {
            question: RegexSetBuilder::new(QUESTION.iter().map(|p| ascii_word_boundaries(p)))
                .case_insensitive(true)
                .build()?,
            asks_for_fact: build(ASKS_FOR_FACT)?,
            work: build(WORK)?,
            trivial: build(TRIVIAL)?,
            wide: build(WIDE)?,
            paste_start: build(PASTE_START)?,
            sentence_break: build(r"[.?!。？！]\s+\S")?,
        })
    }

    /// The shape of `words` (the user's own words, tag removed).
    pub(super) fn shape(&self, words: &str) -> Shape {
        let (ask, pasted) = self.ask(words);
        let work = self.work.is_match(ask);
        if ask.len() > SHORT_ASK || ask.contains('\n') {
            return if work { Shape::Work } else { Shape::Unknown };
        }
        let fact = self.asks_for_fact.is_match(ask);
        // "Is this argument valid? Justify it." is not a question of fact.
        let one_sentence = !self.sentence_break.is_match(ask);
        if one_sentence && self.question.is_match(ask) && (!pasted || fact) && (fact || !work) {
            return Shape::FactQuestion;
        }
        if !pasted && self.trivial.is_match(ask) && !self.wide.is_match(ask) {
            return Shape::TrivialEdit;
        }
        if work || pasted {
            Shape::Work
        } else {
            Shape::Unknown
        }
    }

    /// The ask, and whether something was pasted around it.
    fn ask<'a>(&self, words: &'a str) -> (&'a str, bool) {
        let words = words.trim();
        let first = words.split("\n\n").next().unwrap_or(words);
        let first = first.split("```").next().unwrap_or(first).trim();
        let ask = if first.is_empty() || self.paste_start.is_match(first) {
            let last = words.rsplit("\n\n").next().unwrap_or(words);
            last.rsplit("```").next().unwrap_or(last).trim()
        } else {
            first
        };
        (ask, ask.len() < words.len())
    }
}

/// A question that can ask for a fact, per language (a whole-ask match).
const QUESTION: &[&str] = &[
    r"\A\W*(?:what(?:'s| is| are| was| does| do)|which|who|whom|whose|when|where|how (?:many|much|long|big|far|old|tall|do (?:i|you) (?:check|see|find|list|get|know|tell|say|spell|install|undo|delete|remove|show|view|enable|disable|turn)|can i (?:check|see|find|list|get|tell)|to (?:check|see|find|list|get|undo|delete|remove))|is|are|does|do|can|did|was|define|definition of|meaning of)\b",
    r"\A[^\n]{0,80}\b(?:command|flag|option|shortcut|keyboard shortcut|keyword|property|port|env(?:ironment)? var(?:iable)?|version|syntax)\b[^\n]{0,60}\?\s*\z",
    // Chinese and Japanese: a question mark and a question word.
    r"(?:多少|什么|哪|怎么(?:查看|看|查|用)|是谁|谁|吗|何|どう|どこ|いつ|誰|ですか|は)[^\n]{0,30}[？?]\s*\z",
    r"\A\W*(?:(?:in|mit|seit|ab|für) )?(?:was|wie|welche[rsmn]?|wer|wo|wann|gibt es|ist|sind|kann man)\b[^\n]*\?\s*\z",
    r"\A[\s¿]*(?:(?:en|de|a|con|desde) )?(?:cu[aá]l(?:es)?|qu[eé]|qui[eé]n|cu[aá]ndo|d[oó]nde|c[oó]mo|cu[aá]nto|es|hay)(?:\s|\b)[^\n]*\?\s*\z",
    r"\A\W*(?:(?:en|de|à|avec|depuis) )?(?:quel(?:le)?s?|qui|quand|o[uù]|comment|c'est quoi|est-ce|combien|qu'est-ce)(?:\s|\b)[^\n]*\?\s*\z",
    r"\A\W*(?:(?:в|с|на|до) )?(?:какой|какая|какое|какие|каком|какую|как|кто|что|где|когда|сколько)[^\n]*\?\s*\z",
    r"\A\W*(?:(?:em|de|a|com|desde) )?(?:qual|quais|o que|que|quem|quando|onde|como|quanto|é)(?:\s|\b)[^\n]*\?\s*\z",
];

/// The ask names the kind of fact it wants.
const ASKS_FOR_FACT: &str = r"\b(?:command|cmd|flag|option|shortcut|keyword|property|(?:default )?port|env(?:ironment)? var(?:iable)?|version|file name|which file)\b|命令|端口|版本|コマンド|ポート|バージョン|Befehl|comando|commande|команд|флаг|порт|porta\b|porto\b";

/// Words that make a question a request for work, or a "why" to investigate.
const WORK: &str = r"\b(?:write|implement|fix|add|refactor|rewrite|convert|port|create|build|generate|make|debug|review|optimi[sz]e|explain (?:this|how this|what this|why)|translate|summari[sz]e|why|wrong|design|plan|compare|prove|derive|analy[sz]e|should (?:we|i)|recommend|justify|show that|set up|update|change|remove|delete|move|clean up|split|merge|test)\b|写|实现|修复|解决|重构|设计|分析|优化|翻译|总结|为什么|書いて|作って|直して|修正して|実装|設計|分析|翻訳|要約|なぜ|schreib|implementier|beheb|erstell|entwirf|analysier|vergleich|übersetz|warum|escribe|implementa|corrige|arregla|agrega|añade|crea|diseña|analiza|compara|traduce|por qu[eé]|écris|implémente|ajoute|crée|con[çc]ois|traduis|pourquoi|напиши|реализуй|исправь|добавь|создай|спроектируй|сравни|переведи|почему|escreve|escreva|adiciona|cria|desenhe|analise|traduz|por que";

/// A mechanical edit of a few characters.
const TRIVIAL: &str = r#"\btypos?\b|\bmisspell|\bspelling mistake\b|\bmissing (?:semicolon|comma|bracket|brace|paren(?:thesis)?|quote|colon)\b|\bcommit message\b|\brename (?:the )?(?:variable|function|method|file|field|class|constant|param(?:eter)?)?\s*`?[\w.]+`? to\b|\bchange (?:the )?[\w ]{1,30} (?:in \S+ )?from \S+ to \S+|\bbump (?:the )?\S+ (?:version )?to\b|[“"'「][^”"'」\n]{1,30}[”"'」]\s*(?:改成|改为)|タイポ|誤字|Tippfehler|faute de frappe|coquille|errata|опечатк|erro de digita"#;

/// An edit that reaches wide is not mechanical any more.
const WIDE: &str = r"\beverywhere\b|\bacross\b|\ball (?:the )?(?:files|modules|usages|call sites|occurrences|services)\b|\bwhole\b|\bentire\b|\bcodebase\b|\bproject-wide\b|\band (?:update|fix) (?:all|every)";

/// A message that starts with a paste rather than with the ask.
const PASTE_START: &str = r"\A(?:Traceback|Exception|Error|error(?:\[E\d+\])?:|warning:|panic|\s|at |\{|\[|<|\$ |>>> |\d{4}-\d\d-\d\d|[A-Z]\w*(?:Error|Exception)\b)";

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Shape {
        ShapeRules::new().unwrap().shape(text)
    }

    #[test]
    fn questions_of_fact_with_product_names() {
        for text in [
            "What's the default port for PostgreSQL?",
            "who wrote the rust book?",
            "npm flag to save as a dev dependency?",
            "Redis 默认端口是多少？",
            "Wie lautet der Standardport von Redis?",
            "¿Cuál es el puerto por defecto de MongoDB?",
            "Какой порт по умолчанию у PostgreSQL?",
        ] {
            assert_eq!(shape(text), Shape::FactQuestion, "{text}");
        }
    }

    #[test]
    fn a_fact_about_a_pasted_traceback_is_still_a_fact() {
        let text = "what's the pip command for this traceback\n\nTraceback (most recent call last):\n  File \"t.py\", line 1, in <module>\nModuleNotFoundError: No module named 'yaml'";
        assert_eq!(shape(text), Shape::FactQuestion);
    }

    #[test]
    fn questions_about_failures_or_pasted_code_are_work() {
        assert_ne!(
            shape("Is the following argument valid? All A are B. Justify it."),
            Shape::FactQuestion
        );
        assert_eq!(
            shape("帮我把这个函数改成 TypeScript：\n```js\nfunction f() {}\n```"),
            Shape::Work
        );
        for text in [
            "why is this failing?",
            "what's wrong with this code? it never stops\n```python\nwhile True: pass\n```",
            "TypeError: x is undefined\n    at f (a.js:1:1)\n\nwhat does this mean and how do I fix it?",
            "how do I implement a trie in Go?",
        ] {
            assert_eq!(shape(text), Shape::Work, "{text}");
        }
        let text = "Tengo este error al compilar: `cannot find symbol`. ¿Qué me falta?";
        assert_ne!(shape(text), Shape::FactQuestion, "{text}");
    }

    #[test]
    fn mechanical_edits_unless_they_reach_wide() {
        assert_eq!(
            shape("Give me a one-line commit message for: bump serde"),
            Shape::TrivialEdit
        );
        assert_eq!(
            shape("rename the variable `tmp` to `buffer` in utils/io.py"),
            Shape::TrivialEdit
        );
        assert_ne!(
            shape("rename the User model to Account everywhere, migrations too"),
            Shape::TrivialEdit
        );
        assert_eq!(
            shape("把 README 第三行的 “teh” 改成 “the”"),
            Shape::TrivialEdit
        );
        assert_eq!(shape("the blue umbrella by the door"), Shape::Unknown);
    }
}
