//! OpenAI `tools` / `tool_choice` → Bedrock `toolConfig`.
//!
//! Two Converse rules shape this: `toolConfig` must be present whenever the
//! history holds toolUse/toolResult blocks, and it must list at least one
//! tool. Converse also has no "none" choice.

use std::collections::{HashMap, HashSet};

use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, AutoToolChoice, ContentBlock, Message, SpecificToolChoice, Tool as BedrockTool,
    ToolChoice as BedrockToolChoice, ToolConfiguration, ToolInputSchema, ToolSpecification,
};
use aws_smithy_types::Document;
use serde_json::json;

use super::{Tool, ToolChoice, TranslateError};
use crate::bedrock::json_to_document;

/// Nesting limit for client JSON (schemas, arguments) converted to Documents.
pub(super) const MAX_JSON_DEPTH: usize = 64;

/// The tool part of a Converse request.
#[derive(Debug, Default)]
pub(crate) struct ToolPlan {
    pub config: Option<ToolConfiguration>,
    /// The client forces a tool call (`required` or a named function);
    /// extended thinking cannot be combined with that.
    pub forced: bool,
    /// A forced choice became `auto`: the model refuses forced tool use.
    pub downgraded: bool,
}

/// Builds the tool configuration.
///
/// `tool_choice: "none"` drops the tools, unless the history already holds
/// tool blocks: then Bedrock requires `toolConfig`, so the tools stay with
/// `auto` (Converse cannot forbid calls; the model may still make one).
/// When the client sends no tools but the history has tool calls (e.g. a
/// summarising turn), placeholder specs named after those calls are sent for
/// the same reason.
pub(crate) fn translate(
    tools: Option<&[Tool]>,
    choice: Option<&ToolChoice>,
    history: &[Message],
    forced_allowed: bool,
) -> Result<ToolPlan, TranslateError> {
    let specs = tool_specs(tools.unwrap_or_default())?;
    // Every toolResult answers a toolUse (checked in `messages`), so the
    // history has tool blocks exactly when it has tool calls.
    let history_tools = history_tool_names(history);
    let history_has_tools = !history_tools.is_empty();

    let (choice, forced) = match choice {
        None => (
            BedrockToolChoice::Auto(AutoToolChoice::builder().build()),
            false,
        ),
        Some(ToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => (
                BedrockToolChoice::Auto(AutoToolChoice::builder().build()),
                false,
            ),
            "none" if history_has_tools => (
                BedrockToolChoice::Auto(AutoToolChoice::builder().build()),
                false,
            ),
            "none" => return Ok(ToolPlan::default()),
            "required" if specs.is_empty() => {
                return Err(invalid_choice(
                    "tool_choice",
                    "\"required\" needs at least one tool in 'tools'",
                ));
            }
            "required" => (
                BedrockToolChoice::Any(AnyToolChoice::builder().build()),
                true,
            ),
            other => {
                return Err(invalid_choice(
                    "tool_choice",
                    &format!("{other:?} is not one of \"none\", \"auto\", \"required\""),
                ));
            }
        },
        Some(ToolChoice::Named(named)) => {
            if named.kind != "function" {
                return Err(invalid_choice(
                    "tool_choice.type",
                    "only \"function\" is supported",
                ));
            }
            let name = &named.function.name;
            if !specs.iter().any(|s| s.name() == name) {
                return Err(invalid_choice(
                    "tool_choice.function.name",
                    &format!("{name:?} is not one of the tools in 'tools'"),
                ));
            }
            let choice = SpecificToolChoice::builder().name(name).build()?;
            (BedrockToolChoice::Tool(choice), true)
        }
    };

    // A model that refuses forced tool use (models.yaml) gets `auto`: the
    // tools stay offered and the prompt usually leads to the call, where a
    // forced choice would be a 400 the client cannot fix.
    let downgraded = forced && !forced_allowed;
    let (choice, forced) = if downgraded {
        (
            BedrockToolChoice::Auto(AutoToolChoice::builder().build()),
            false,
        )
    } else {
        (choice, forced)
    };
    let specs = if specs.is_empty() && history_has_tools {
        placeholder_specs(&history_tools)?
    } else {
        specs
    };
    if specs.is_empty() {
        return Ok(ToolPlan::default());
    }
    let config = ToolConfiguration::builder()
        .set_tools(Some(specs.into_iter().map(BedrockTool::ToolSpec).collect()))
        .tool_choice(choice)
        .build()?;
    Ok(ToolPlan {
        config: Some(config),
        forced,
        downgraded,
    })
}

/// Bedrock's tool name pattern: `[a-zA-Z0-9_-]{1,64}`.
pub(super) fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn tool_specs(tools: &[Tool]) -> Result<Vec<ToolSpecification>, TranslateError> {
    let mut seen = HashSet::new();
    let mut specs = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        if tool.kind != "function" {
            return Err(TranslateError::Unsupported {
                param: format!("{at}.type"),
                message: format!("tool type {:?}; only \"function\" is supported", tool.kind),
            });
        }
        let f = &tool.function;
        if !is_valid_tool_name(&f.name) {
            return Err(TranslateError::ToolName {
                param: format!("{at}.function.name"),
                name: f.name.clone(),
            });
        }
        if !seen.insert(f.name.as_str()) {
            return Err(TranslateError::Invalid {
                param: format!("{at}.function.name"),
                message: format!("tool {:?} is declared twice", f.name),
            });
        }
        let param = format!("{at}.function.parameters");
        let schema = match &f.parameters {
            // No parameters: a function without arguments.
            None => json!({"type": "object", "properties": {}}),
            Some(v) if v.is_object() => v.clone(),
            Some(_) => {
                return Err(TranslateError::Invalid {
                    param,
                    message: "must be a JSON Schema object".into(),
                });
            }
        };
        let schema =
            json_to_document(&schema, MAX_JSON_DEPTH).map_err(|e| TranslateError::TooDeep {
                param,
                limit: e.limit,
            })?;
        let spec = ToolSpecification::builder()
            .name(&f.name)
            // Bedrock rejects an empty description.
            .set_description(f.description.clone().filter(|d| !d.trim().is_empty()))
            .input_schema(ToolInputSchema::Json(schema))
            .build()?;
        specs.push(spec);
    }
    Ok(specs)
}

/// Names of the tools called in the history, first use first, without repeats.
fn history_tool_names(history: &[Message]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for block in history.iter().flat_map(|m| &m.content) {
        if let ContentBlock::ToolUse(u) = block
            && !names.contains(&u.name)
        {
            names.push(u.name.clone());
        }
    }
    names
}

fn placeholder_specs(names: &[String]) -> Result<Vec<ToolSpecification>, TranslateError> {
    let schema = Document::Object(HashMap::from([(
        "type".to_owned(),
        Document::String("object".to_owned()),
    )]));
    names
        .iter()
        .map(|name| {
            Ok(ToolSpecification::builder()
                .name(name)
                .description("Used earlier in this conversation; not offered in this request.")
                .input_schema(ToolInputSchema::Json(schema.clone()))
                .build()?)
        })
        .collect()
}

fn invalid_choice(param: &str, message: &str) -> TranslateError {
    TranslateError::Invalid {
        param: param.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::document_to_json;
    use crate::openai::test_support::messages;
    use serde_json::Value;

    fn tools(v: Value) -> Vec<Tool> {
        serde_json::from_value(v).unwrap()
    }

    fn weather() -> Vec<Tool> {
        tools(json!([{"type": "function", "function": {
            "name": "weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}, {"type": "function", "function": {"name": "now"}}]))
    }

    fn choice(v: Value) -> ToolChoice {
        serde_json::from_value(v).unwrap()
    }

    /// A history with one tool call and its result.
    fn tool_history() -> Vec<Message> {
        super::super::messages::translate(&messages(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "a", "content": "sunny"}
        ])))
        .unwrap()
        .1
    }

    #[test]
    fn function_tools_become_tool_specs_with_json_schemas() {
        let plan = translate(Some(&weather()), None, &[], true).unwrap();
        let config = plan.config.unwrap();
        assert!(!plan.forced);
        assert!(matches!(
            config.tool_choice,
            Some(BedrockToolChoice::Auto(_))
        ));
        let specs: Vec<&ToolSpecification> = config
            .tools
            .iter()
            .filter_map(|t| t.as_tool_spec().ok())
            .collect();
        assert_eq!(specs[0].name, "weather");
        assert_eq!(specs[0].description.as_deref(), Some("Current weather"));
        let Some(ToolInputSchema::Json(schema)) = &specs[0].input_schema else {
            panic!("json schema expected");
        };
        assert_eq!(document_to_json(schema)["required"], json!(["city"]));
        let Some(ToolInputSchema::Json(empty)) = &specs[1].input_schema else {
            panic!("json schema expected");
        };
        assert_eq!(
            document_to_json(empty),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn tool_choice_modes_map_to_converse() {
        let t = weather();
        let any = translate(Some(&t), Some(&choice(json!("required"))), &[], true).unwrap();
        assert!(any.forced);
        assert!(matches!(
            any.config.unwrap().tool_choice,
            Some(BedrockToolChoice::Any(_))
        ));
        let named = translate(
            Some(&t),
            Some(&choice(
                json!({"type": "function", "function": {"name": "now"}}),
            )),
            &[],
            true,
        )
        .unwrap();
        assert!(named.forced);
        assert!(matches!(named.config.unwrap().tool_choice,
            Some(BedrockToolChoice::Tool(ref s)) if s.name == "now"));
        let auto = translate(Some(&t), Some(&choice(json!("auto"))), &[], true).unwrap();
        assert!(matches!(
            auto.config.unwrap().tool_choice,
            Some(BedrockToolChoice::Auto(_))
        ));
    }

    #[test]
    fn none_drops_tools_unless_history_needs_tool_config() {
        let t = weather();
        let none = choice(json!("none"));
        assert!(
            translate(Some(&t), Some(&none), &[], true)
                .unwrap()
                .config
                .is_none()
        );
        let kept = translate(Some(&t), Some(&none), &tool_history(), true)
            .unwrap()
            .config
            .unwrap();
        assert_eq!(kept.tools.len(), 2);
        assert!(matches!(kept.tool_choice, Some(BedrockToolChoice::Auto(_))));
    }

    #[test]
    fn history_without_declared_tools_gets_placeholders() {
        let config = translate(None, None, &tool_history(), true)
            .unwrap()
            .config
            .unwrap();
        let names: Vec<&str> = config
            .tools
            .iter()
            .filter_map(|t| t.as_tool_spec().ok().map(|s| s.name.as_str()))
            .collect();
        assert_eq!(names, ["weather"]);
        assert!(translate(None, None, &[], true).unwrap().config.is_none());
    }

    #[test]
    fn invalid_tools_and_choices_are_400s() {
        let t = weather();
        let cases: Vec<(Result<ToolPlan, TranslateError>, &str)> = vec![
            (
                translate(
                    Some(&tools(
                        json!([{"type": "function", "function": {"name": "has space"}}]),
                    )),
                    None,
                    &[],
                    true,
                ),
                "tools[0].function.name",
            ),
            (
                translate(
                    Some(&tools(
                        json!([{"type": "function", "function": {"name": &"x".repeat(65)}}]),
                    )),
                    None,
                    &[],
                    true,
                ),
                "tools[0].function.name",
            ),
            (
                translate(
                    Some(&tools(
                        json!([{"type": "custom", "function": {"name": "x"}}]),
                    )),
                    None,
                    &[],
                    true,
                ),
                "tools[0].type",
            ),
            (
                translate(
                    Some(&tools(
                        json!([{"type": "function", "function": {"name": "x", "parameters": []}}]),
                    )),
                    None,
                    &[],
                    true,
                ),
                "tools[0].function.parameters",
            ),
            (
                translate(
                    Some(&tools(
                        json!([{"type": "function", "function": {"name": "x"}}, {"type": "function", "function": {"name": "x"}}]),
                    )),
                    None,
                    &[],
                    true,
                ),
                "tools[1].function.name",
            ),
            (
                translate(
                    Some(&t),
                    Some(&choice(
                        json!({"type": "function", "function": {"name": "nope"}}),
                    )),
                    &[],
                    true,
                ),
                "tool_choice.function.name",
            ),
            (
                translate(None, Some(&choice(json!("required"))), &[], true),
                "tool_choice",
            ),
            (
                translate(Some(&t), Some(&choice(json!("sometimes"))), &[], true),
                "tool_choice",
            ),
        ];
        for (i, (result, param)) in cases.into_iter().enumerate() {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("case {i} should fail"));
            assert_eq!(err.param(), Some(param), "case {i}: {err}");
        }
    }

    #[test]
    fn schema_depth_is_bounded() {
        let mut schema = json!({"type": "string"});
        for _ in 0..MAX_JSON_DEPTH {
            schema = json!({"type": "object", "properties": {"x": schema}});
        }
        let deep = tools(
            json!([{"type": "function", "function": {"name": "deep", "parameters": schema}}]),
        );
        let err = translate(Some(&deep), None, &[], true).unwrap_err();
        assert!(
            matches!(
                err,
                TranslateError::TooDeep {
                    limit: MAX_JSON_DEPTH,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.param(), Some("tools[0].function.parameters"));
    }

    #[test]
    fn tool_name_charset() {
        assert!(is_valid_tool_name("get_weather-2"));
        assert!(is_valid_tool_name(&"a".repeat(64)));
        for bad in ["", "a.b", "ü", "a b", &"a".repeat(65)] {
            assert!(!is_valid_tool_name(bad), "{bad:?}");
        }
    }
}
