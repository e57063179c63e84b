//! How big a task is, whatever its category: several systems or parts, causes
//! to find, a plan or redesign to make, something that must hold under load,
//! at scale or under concurrency, a decision between options, a ranked review.
//!
//! Each signal belongs to a family; a family counts with its strongest match
//! (a plan, a design or a review adds half of each further part, capped at 1),
//! and the families add up. A sum of [`TOP_SCOPE`] or
//! more means the task needs the top tier. One family alone rarely gets
//! there (a "plan" can be a shopping list, "twice" a double-submitted form);
//! two independent ones together ("walk me through the causes" + "after
//! scaling consumers from 3 to 8") are a task for the strongest model. Named
//! components (Postgres, a CDN, a queue…) count as one family that fires when
//! three or more distinct ones are named.
//!
//! The signals are written in the languages users write: English, Chinese,
//! Japanese, German, Spanish, French, Russian and Portuguese. Patterns that
//! start with a non-ASCII letter carry no `\b` (the ASCII word boundary the
//! router uses does not see Cyrillic or CJK letters as word characters).

use regex::{RegexSet, RegexSetBuilder};

use super::classify::ascii_word_boundaries;

/// Total weight from which the task is a top-tier one.
pub(super) const TOP_SCOPE: f32 = 1.0;

/// Distinct named components from which "several systems" fires.
const SEVERAL_SYSTEMS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Causes,
    Symptom,
    Plan,
    Design,
    Scale,
    Concurrency,
    Decision,
    Review,
    Parts,
    Component,
}

impl Family {
    fn adds_parts(self) -> bool {
        matches!(self, Family::Plan | Family::Design | Family::Review)
    }

    fn describe(self) -> &'static str {
        match self {
            Family::Causes => "causes to find",
            Family::Symptom => "a symptom that appears only in some conditions",
            Family::Plan => "a plan to make",
            Family::Design => "a design to make",
            Family::Scale => "must hold at scale or under failure",
            Family::Concurrency => "concurrency",
            Family::Decision => "a decision between options",
            Family::Review => "a review to rank",
            Family::Parts => "several parts asked for",
            Family::Component => "several systems",
        }
    }
}

struct Signal {
    family: Family,
    weight: f32,
    pattern: &'static str,
}

macro_rules! signal {
    ($family:ident, $weight:expr, $pattern:expr) => {
        Signal {
            family: Family::$family,
            weight: $weight,
            pattern: $pattern,
        }
    };
}

/// What the scope signals found in a text.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Scope {
    /// Sum over the families that fired of their strongest weight.
    pub(super) weight: f32,
    /// The families that fired, described for `why`, strongest first.
    pub(super) evidence: Vec<&'static str>,
}

impl Scope {
    pub(super) fn is_top(&self) -> bool {
        self.weight >= TOP_SCOPE
    }

    pub(super) fn is_empty(&self) -> bool {
        self.evidence.is_empty()
    }
}

pub(super) struct ScopeSignals {
    set: RegexSet,
}

impl ScopeSignals {
    pub(super) fn new() -> Result<Self, regex::Error> {
        let set = RegexSetBuilder::new(SIGNALS.iter().map(|s| ascii_word_boundaries(s.pattern)))
            .case_insensitive(true)
            .build()?;
        Ok(Self { set })
    }

    pub(super) fn measure(&self, text: &str) -> Scope {
        // The weights of the signals that matched, per family in `Family` order.
        let mut matched: [Vec<f32>; 10] = Default::default();
        let mut components = 0;
        for signal in self.set.matches(text).iter().filter_map(|i| SIGNALS.get(i)) {
            if signal.family == Family::Component {
                components += 1;
            } else {
                matched[signal.family as usize].push(signal.weight);
            }
        }
        if components >= SEVERAL_SYSTEMS {
            matched[Family::Component as usize].push(if components >= 5 { 0.7 } else { 0.5 });
        }
        let mut fired: Vec<(Family, f32)> = FAMILIES
            .into_iter()
            .filter_map(|family| {
                let weights = &mut matched[family as usize];
                weights.sort_by(|a, b| b.total_cmp(a));
                let (strongest, further) = weights.split_first()?;
                // The parts of a deliverable (a plan with phases, risks and
                // rollback points) add up; other families count once.
                let sum = if family.adds_parts() {
                    strongest + further.iter().sum::<f32>() / 2.0
                } else {
                    *strongest
                };
                Some((family, sum.min(1.0)))
            })
            .collect();
        fired.sort_by(|a, b| b.1.total_cmp(&a.1));
        Scope {
            weight: fired.iter().map(|(_, w)| w).sum(),
            evidence: fired.iter().map(|(f, _)| f.describe()).collect(),
        }
    }
}

const FAMILIES: [Family; 10] = [
    Family::Causes,
    Family::Symptom,
    Family::Plan,
    Family::Design,
    Family::Scale,
    Family::Concurrency,
    Family::Decision,
    Family::Review,
    Family::Parts,
    Family::Component,
];

/// The scope signals, matched case-insensitively.
const SIGNALS: &[Signal] = &[
    // ---- causes to find
    signal!(Causes, 1.0, r"\broot[- ]causes?\b"),
    signal!(
        Causes,
        0.7,
        r"\b(?:possible|likely|probable|potential|all the|the) causes\b|\bwhat (?:could|might|would|can) (?:be )?caus|\bwalk me through (?:the|what|why)|\bcauses? (?:could|might|would) (?:be|explain)|\bwhat could explain\b"
    ),
    signal!(
        Causes,
        0.5,
        r"\bwhat(?:'s| is) going on\b|\bfigure out (?:what|why|where)|\binvestigat|\bdiagnos|\bhow (?:do|can|would) (?:i|we) (?:confirm|prove|verify|tell) (?:it|which|what|that)|\bhow to prove which\b|\bnarrow (?:it |this )?down\b|\btrack (?:it |this )?down\b|\bwhere the time goes\b|\bwhy would\b|\bfind (?:the|a) (?:deadlock|race|leak|bug|cause|bottleneck)"
    ),
    signal!(
        Causes,
        0.7,
        r"原因|排查|怎么回事|切り分け|Ursache|woran (?:kann|könnte) (?:das|es) liegen|eingrenzen|causas|investigar|\bcauses\b|причин|разбер"
    ),
    signal!(
        Causes,
        0.3,
        r"\bwhy\b|为什么|なぜ|warum|por qu[eé]|pourquoi|почему"
    ),
    // ---- a symptom that shows only in some conditions: a diagnosis puzzle
    signal!(
        Symptom,
        0.5,
        r"\bbut only\b|\bonly (?:in|on|for|when|since|after|under|at|during) |\bonly in prod|\bsince (?:we|i) (?:moved|switched|added|scaled|migrated|upgraded|enabled|introduced)|\bafter (?:we |i )?(?:moved|moving|switched|switching|scaling|scaled|enabling|enabled|migrat|adding|added)\b|\bevery time we\b|\bwhile [^.\n]{0,60}\b(?:falls|drops|dropped|rises|rose|grows|declin)|\beven though\b|\bdespite\b|\bbut in production\b|\bsometimes\b[^.\n]{0,80}\b(?:twice|double|lost|wrong|stale|disappear)"
    ),
    signal!(
        Symptom,
        0.5,
        r"反而|却在|却|只有在|之后|だけ|のに|してから|nur (?:in|bei|wenn|für|unter)|obwohl|nach dem (?:Umstieg|Wechsel|Update)|solo (?:cuando|en|para|con)|seulement (?:quand|si|pour|en)|uniquement|depuis qu|alors que|только (?:в|при|на|когда|у)|после (?:переход|масштаб|обновлен)|s[oó] (?:para|quando|em|com)|depois que"
    ),
    // ---- a plan, a migration, a rollout
    signal!(
        Plan,
        1.0,
        r"\broadmap\b|\bmigration (?:plan|path|strategy)\b|\bplan (?:the |a |our )?(?:migration|move|moving|upgrade|rollout|transition|cut ?over)\b"
    ),
    signal!(
        Plan,
        0.6,
        r"\bplan\b|\bin phases\b|\bphased\b|\b(?:each|per|every) phase\b|\bphases\b|\bsequencing\b|\bone sprint at a time\b"
    ),
    signal!(
        Plan,
        0.5,
        r"\brollback\b|\broll(?:ing)? back\b|\bcut ?over\b|\brollout\b|\bwithout (?:any )?downtime\b|\bzero[- ]downtime\b|\bwithout (?:missing|losing|logging|breaking|dropping)\b|\bminimal downtime\b"
    ),
    signal!(Plan, 0.4, r"\bmigrat(?:e|es|ing|ion)\b"),
    signal!(Plan, 0.4, r"\brisks?\b"),
    signal!(
        Plan,
        0.4,
        r"\bin what order\b|\bstep by step plan\b|\bsafely\b"
    ),
    signal!(
        Plan,
        0.6,
        r"计划|分阶段|阶段|方案|計画|フェーズ|段階的|je Phase|schrittweise|planeje|plano\b|fases|план|этап"
    ),
    signal!(
        Plan,
        0.5,
        r"回滚|ロールバック|Rückfall|volver atrás|revertir|retour arrière|откат|reverter|sin tiempo de inactividad|sans interruption"
    ),
    signal!(
        Plan,
        0.4,
        r"迁移|拆分|风险|移行|リスク|Migration|Risiken|migrar|migración|riesgos|risques|миграц|риск|migração|riscos"
    ),
    // ---- a design to make
    signal!(
        Design,
        1.0,
        r"\b(?:design|architect|re-?design)\b[^.\n]{0,80}\b(?:system|service|services|architecture|pipeline|platform|infrastructure|deployment|protocol|backend|strategy|layer|queue|scheme)\b|\bredesign\b|\bre-architect|\bdesign doc\b|\bpropose (?:an? )?(?:design|architecture)\b|\bsystem design\b"
    ),
    signal!(
        Design,
        0.8,
        r"\barchitecture\b|\barchitectural\b|\bpropose a design\b"
    ),
    signal!(
        Design,
        0.6,
        r"\bhow should (?:we|i) (?:structure|design|organi[sz]e|architect|split|model|lay out)\b"
    ),
    signal!(
        Design,
        0.5,
        r"\b(?:shared|global|distributed) (?:state|counter|lock|cache|rate limit|transaction)s?\b|\bso (?:it|that it) works across\b"
    ),
    signal!(
        Design,
        0.4,
        r"\bdata model\b|\bfailure modes?\b|\bhow it evolves\b|\bschema evolution\b|\bend to end\b"
    ),
    signal!(
        Design,
        1.0,
        r"(?:设计|設計|entwirf|entwerfe|diseña|con[çc]ois|спроектируй|desenhe|projete)[^.\n。]{0,40}(?:系统|服务|架构|システム|サービス|System|Architektur|sistema|arquitectura|arquitetura|système|architecture|систем|сервис|архитектур)"
    ),
    signal!(
        Design,
        0.5,
        r"\bevent bus\b|\bmessage bus\b|\bdecoupl|\binstead of calling each other\b"
    ),
    signal!(
        Design,
        0.8,
        r"设计|架构|設計|アーキテクチャ|Architektur|entwirf|entwerfe|diseña|arquitectura|arquitetura|con[çc]ois|concevoir|спроектируй|проектир|архитектур|desenhe|projete"
    ),
    // ---- must hold at scale, under load
    signal!(
        Scale,
        0.6,
        r"\bunder (?:heavy |high |peak )?load\b|\bat (?:our )?scale\b|\bhigh (?:load|traffic)\b|\bpeaks?\b|\bblack friday\b|\bp9\d\b|\btail latency\b|\bthroughput\b|\bconcurrent (?:users|connections|requests|documents|sessions)\b|\bmulti-region\b|\bmulti-tenant\b|\bacross (?:multiple |several |all )?(?:regions|instances|pods|nodes|services|machines)\b|\beach (?:pod|instance|node|replica) (?:keeps|has)\b|\bdistributed\b|\bscal(?:e|ing|ed) (?:up|out|from)\b|\bafter scaling\b|\bhorizontal(?:ly)? scal"
    ),
    signal!(
        Scale,
        0.5,
        r"\bcascad(?:e|es|ed|ing)\b|\bsingle point of failure\b|\bfault[- ]toleran|\bfailover\b|\bresilien|\boutages?\b|\bpost-?mortem\b|\bincident\b|\b(?:whole|entire) codebase\b|\ball (?:our )?services\b|\bevery service\b|\b(?:don't|do not|never|without) (?:lose|losing|drop|dropping) (?:any )?(?:events|messages|data|orders|writes)\b|отказ"
    ),
    signal!(
        Scale,
        0.5,
        r"\b\d[\d,.]*\s*(?:k|m|b)?\s*(?:rps|qps|tps|req(?:uests)?/s|writes/s|reads/s|requests per (?:second|minute)|writes per|events per|per second|/s\b|/min\b)|\b\d[\d,.]*\s*(?:k|thousand|million|billion|m|bn)\b[^.\n]{0,20}\b(?:users|clients|customers|writes|reads|requests|events|docs|documents|rows|records|tasks|connections|items|products|payments|lines|messages)\b|\b\d+[- ](?:million|billion)|\b\d[\d,.]*\s*(?:tb|pb)\b"
    ),
    signal!(
        Scale,
        0.4,
        r"\b(?:\d+|several|many|multiple|three|four|five|ten|dozens of) (?:replicas|instances|pods|nodes|data nodes|consumers|partitions|workers|servers|shards|regions|services|microservices|databases|modules|packages|teams)\b|\bfrom \d+ to \d+ (?:replicas|instances|pods|nodes|consumers|partitions|workers|servers|shards)\b|\b(?:replicas|instances|pods|consumers|workers) from \d+ to \d+\b"
    ),
    signal!(
        Scale,
        0.6,
        r"高峰|峰值|高并发|并发|扩容|负载|百万|千万|亿|\d+万|高負荷|負荷|スケール|同時接続|台から|unter Last|hoher Last|gleichzeitige|skalier|Millionen|picos?\b|escal(?:ar|amos|ado)|concurrencia|millones|mont[ée]e en charge|la charge|tenir \d|millions|масштаб|нагрузк|миллион|тысяч|регион|пиков|escalamos|milh[ãõ]o|milhões"
    ),
    signal!(
        Scale,
        0.4,
        r"实例|节点|副本|消费者|分区|インスタンス|Instanzen|instancias|instances|partitions|под(?:ов|а)|инстанс|consumidores|workers de \d+ a \d+|de \d+ (?:a|para|à) \d+"
    ),
    // ---- concurrency and exactly-once
    signal!(
        Concurrency,
        0.7,
        r"\brace conditions?\b|\bdata races?\b|\bdeadlocks?\b|\bthread[- ]saf|\block-free\b|\bmemory orderings?\b|\bunder concurrency\b|\bconcurrency bugs?\b"
    ),
    signal!(
        Concurrency,
        0.6,
        r"\bgoroutines\b|\bthread pool\b|\bdouble[- ](?:count|charg|book|spend|process)|\bduplicate(?:d)? (?:events|emails|orders|messages|charges|invoices|payments)\b|\bexactly[- ]once\b|\bidempoten|\b(?:processed|generated|sent|charged|counted|booked) twice\b|\bsafe under concurrency\b"
    ),
    signal!(
        Concurrency,
        0.6,
        r"二重|重複|冪等|重复|幂等|Doppelbuchung|doppelt|dos veces|duplicad|deux fois|en double|дважды|дубл|duas vezes"
    ),
    // ---- a decision between options
    signal!(
        Decision,
        0.6,
        r"\bshould (?:we|i) (?:use|choose|pick|go with|move|migrate|rewrite|switch|adopt|build)\b|\b(?:which|what) (?:one )?should (?:we|i) (?:pick|choose|use|go with)\b|\btrade-?offs?\b|\bpros and cons\b|\bevaluate whether\b|\bgive me a (?:reasoned )?recommendation\b|\bcompare and recommend\b|\bwhich fails how\b"
    ),
    signal!(
        Decision,
        0.4,
        r"\brecommend(?:ation)?\b|\bcompare\b|\bcomparison\b|\bversus\b|\bvs\.?\s+(?:[^c\s]|c[^o]|co[^d])"
    ),
    signal!(
        Decision,
        0.6,
        r"优缺点|利弊|建议|どちら|長所と短所|Vor- und Nachteile|Empfehlung|ventajas y desventajas|nos conviene|avantages et inconvénients|compromis|плюсы и минусы|рекомендац|prós e contras"
    ),
    signal!(Decision, 0.4, r"对比|比较|比較|vergleiche|compara|сравни"),
    // ---- a review to rank, security
    signal!(
        Review,
        1.0,
        r"\bthreat[- ]model|\bsecurity (?:review|audit)\b"
    ),
    signal!(
        Review,
        0.6,
        r"\brank (?:the |them|what|findings|by)|\bby severity\b|\branked by\b|\bprioriti[sz]e (?:the )?(?:findings|issues)\b|\bsecurity (?:holes|issues|problems|risks)\b|\bvulnerabilit|\bwhat can go wrong\b|\battacks?\b|\bfix every issue\b|\breview (?:this|the|our|my)\b[^\n]{0,80}\bfor\b"
    ),
    // ---- several numbered parts in one ask
    signal!(
        Parts,
        0.4,
        r"(?s)\(1\).*\(2\).*\(3\)|(?m)^\s*1[.)]\s(?s:.*)^\s*2[.)]\s(?s:.*)^\s*3[.)]\s"
    ),
    // ---- named components: three or more distinct ones make "several systems"
    signal!(Component, 0.0, r"\bpostgres(?:ql)?\b|\brds\b"),
    signal!(Component, 0.0, r"\bmysql\b"),
    signal!(Component, 0.0, r"\bredis\b"),
    signal!(Component, 0.0, r"\bkafka\b|\bpulsar\b"),
    signal!(Component, 0.0, r"\brabbitmq\b|\bsqs\b|\bcelery\b"),
    signal!(
        Component,
        0.0,
        r"\bmongo(?:db)?\b|\bdynamodb\b|\bcassandra\b|\bclickhouse\b"
    ),
    signal!(
        Component,
        0.0,
        r"\belasticsearch\b|\bsearch index\b|\bfull-text\b"
    ),
    signal!(Component, 0.0, r"\bcdn\b|\bcloudfront\b"),
    signal!(
        Component,
        0.0,
        r"\bload balancer\b|\balb\b|\bnginx\b|\bingress\b|балансировщик"
    ),
    signal!(Component, 0.0, r"\bservice mesh\b|\bgateway\b|网关"),
    signal!(
        Component,
        0.0,
        r"\bqueue\b|消息队列|队列|キュー|очеред|\bfila\b|\bcola\b"
    ),
    signal!(Component, 0.0, r"\bcache\b|缓存|キャッシュ|кэш|кеш"),
    signal!(Component, 0.0, r"\breplicas?\b|副本|レプリカ"),
    signal!(Component, 0.0, r"\bscheduler\b|\bcron\b"),
    signal!(
        Component,
        0.0,
        r"\bworkers?\b|\bconsumers?\b|消费者|コンシューマ|консьюмер"
    ),
    signal!(Component, 0.0, r"\bwebsockets?\b|\bgrpc\b"),
    signal!(Component, 0.0, r"\blambda\b|\bs3\b|\bec2\b"),
    signal!(Component, 0.0, r"\bkubernetes\b|\bk8s\b"),
    signal!(
        Component,
        0.0,
        r"\b(?:auth|payment|billing|invoice|notification|user|order|mailer)s? (?:service|worker)\b|\bpayment (?:gateway|sdk)\b"
    ),
    signal!(
        Component,
        0.0,
        r"\bfrontend\b|\bmobile (?:app|clients?)\b|\bweb\b"
    ),
    signal!(Component, 0.0, r"\bbackend\b|\bapi\b"),
    signal!(
        Component,
        0.0,
        r"数据库|データベース|\bDB\b|Datenbank|base de datos|banco de dados|\bbanco\b|база"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(text: &str) -> Scope {
        ScopeSignals::new().unwrap().measure(text)
    }

    #[test]
    fn one_family_alone_is_not_top_two_together_are() {
        let plan = measure("make a plan for the weekend");
        assert!(!plan.is_top(), "{plan:?}");
        let causes = measure("walk me through the possible causes");
        assert!(!causes.is_top(), "{causes:?}");
        let both = measure(
            "account balances go wrong after scaling consumers from 3 to 8; walk me through the causes",
        );
        assert!(both.is_top(), "{both:?}");
        assert_eq!(both.evidence[0], "causes to find");
        assert!(
            both.evidence
                .contains(&"must hold at scale or under failure"),
            "{both:?}"
        );
    }

    #[test]
    fn further_parts_of_a_plan_add_half() {
        // 0.6 (plan) + 0.5 (rollback) / 2
        let s = measure("a plan and a rollback");
        assert!((s.weight - 0.85).abs() < 1e-6, "{s:?}");
        assert_eq!(s.evidence, ["a plan to make"]);
        // + 0.4 (risks) / 2, capped at 1
        let s = measure("a plan in phases, with risks and a rollback");
        assert_eq!(s.weight, 1.0);
        assert_eq!(s.evidence, ["a plan to make"]);
    }

    #[test]
    fn three_named_components_are_several_systems() {
        assert!(measure("Postgres and Redis").is_empty());
        let s = measure("Postgres, Redis and the CDN");
        assert_eq!(
            (s.weight, s.evidence.as_slice()),
            (0.5, &["several systems"][..])
        );
    }

    #[test]
    fn signals_in_other_languages() {
        for text in [
            "离线 AUC 一直在涨，线上点击率却在下降，可能是什么原因？",
            "本番だけでデータの二重計上が起きます。考えられる原因を説明してください。",
            "Erstelle eine Roadmap mit Risiken und Rückfallpunkten je Phase.",
            "Después de escalar los workers de 4 a 16, ¿cuáles son las causas posibles?",
            "Составь план миграции по этапам, с рисками и точками отката.",
        ] {
            assert!(measure(text).is_top(), "{text}: {:?}", measure(text));
        }
    }
}
