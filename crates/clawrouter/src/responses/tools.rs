//! Responses tools → the function tools Bedrock can call, and back.
//!
//! Bedrock runs only JSON-schema tools, so each Responses tool kind is
//! mapped onto one: `function` as is; `custom` (freeform, e.g. Codex's
//! `apply_patch`) as a function taking one string `input`; the functions of
//! a `namespace` under the name `{namespace}__{name}`. Hosted tools
//! (`web_search`, `file_search`, ...) run on OpenAI's servers, which Bedrock
//! cannot do: they are dropped and named in a response header instead.

use serde_json::{Value, json};

use super::{Tool, ToolChoice};
use crate::openai::{self, FunctionDefinition, NamedToolChoice, ToolName, TranslateError};

/// Joins a namespace and a tool name into one Bedrock tool name.
const NAMESPACE_SEPARATOR: &str = "__";

/// What each Bedrock tool name stands for in the client's terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolIndex {
    tools: Vec<Entry>,
    /// The `type`s of hosted tools that were dropped, in request order.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    bedrock_name: String,
    name: String,
    namespace: Option<String>,
    custom: bool,
    description: Option<String>,
    parameters: Value,
}

/// A tool call as the client knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallKind {
    Function {
        namespace: Option<String>,
    },
    /// A freeform tool: the call's `input` string is the whole argument.
    Custom,
}

impl ToolIndex {
    /// Reads the request's tools; malformed ones are a 400 naming the field.
    pub fn of(tools: &[Tool]) -> Result<Self, TranslateError> {
        let mut index = ToolIndex::default();
        for (i, tool) in tools.iter().enumerate() {
            index.add(tool, None, &format!("tools[{i}]"))?;
        }
        Ok(index)
    }

    fn add(
        &mut self,
        tool: &Tool,
        namespace: Option<&str>,
        at: &str,
    ) -> Result<(), TranslateError> {
        match tool.kind.as_str() {
            "function" | "custom" => {
                let name = required_name(tool, at)?;
                let custom = tool.kind == "custom";
                let parameters = if custom {
                    freeform_schema(tool.format.as_ref())
                } else {
                    match &tool.parameters {
                        None => json!({"type": "object", "properties": {}}),
                        Some(p) if p.is_object() => p.clone(),
                        Some(_) => {
                            return Err(TranslateError::Invalid {
                                param: format!("{at}.parameters"),
                                message: "must be a JSON Schema object".into(),
                            });
                        }
                    }
                };
                self.tools.push(Entry {
                    bedrock_name: bedrock_name(name, namespace),
                    name: name.to_owned(),
                    namespace: namespace.map(str::to_owned),
                    custom,
                    description: tool.description.clone(),
                    parameters,
                });
            }
            "namespace" if namespace.is_none() => {
                let name = required_name(tool, at)?;
                for (j, inner) in tool.tools.iter().flatten().enumerate() {
                    self.add(inner, Some(name), &format!("{at}.tools[{j}]"))?;
                }
            }
            "namespace" => {
                return Err(TranslateError::Unsupported {
                    param: format!("{at}.type"),
                    message: "namespaces cannot be nested".into(),
                });
            }
            hosted => self.dropped.push(hosted.to_owned()),
        }
        Ok(())
    }

    /// The tools as Chat Completions function tools, whose translation to
    /// Bedrock (name rules, schemas, `toolConfig` rules) is shared.
    pub fn as_chat_tools(&self) -> Vec<openai::Tool> {
        self.tools
            .iter()
            .map(|e| openai::Tool {
                kind: "function".to_owned(),
                function: FunctionDefinition {
                    name: e.bedrock_name.clone(),
                    description: e.description.clone(),
                    parameters: Some(e.parameters.clone()),
                },
            })
            .collect()
    }

    /// The client's name and kind for a tool Bedrock called. A name the
    /// request did not declare is passed through as a plain function.
    pub fn client_call(&self, bedrock_name: &str) -> (String, CallKind) {
        match self.tools.iter().find(|e| e.bedrock_name == bedrock_name) {
            Some(e) if e.custom => (e.name.clone(), CallKind::Custom),
            Some(e) => (
                e.name.clone(),
                CallKind::Function {
                    namespace: e.namespace.clone(),
                },
            ),
            None => (
                bedrock_name.to_owned(),
                CallKind::Function { namespace: None },
            ),
        }
    }

    /// `tool_choice` in Chat Completions terms.
    pub fn chat_choice(
        &self,
        choice: Option<&ToolChoice>,
    ) -> Result<Option<openai::ToolChoice>, TranslateError> {
        Ok(match choice {
            None => None,
            Some(ToolChoice::Mode(mode)) => Some(openai::ToolChoice::Mode(mode.clone())),
            Some(ToolChoice::Named { kind, name }) if kind == "function" || kind == "custom" => {
                let Some(name) = name else {
                    return Err(TranslateError::Invalid {
                        param: "tool_choice.name".into(),
                        message: "a named tool choice needs a name".into(),
                    });
                };
                let entry = self.tools.iter().find(|e| &e.name == name).ok_or_else(|| {
                    TranslateError::Invalid {
                        param: "tool_choice.name".into(),
                        message: format!("{name:?} is not one of the tools in 'tools'"),
                    }
                })?;
                Some(openai::ToolChoice::Named(NamedToolChoice {
                    kind: "function".to_owned(),
                    function: ToolName {
                        name: entry.bedrock_name.clone(),
                    },
                }))
            }
            Some(ToolChoice::Named { kind, .. }) => {
                return Err(TranslateError::Unsupported {
                    param: "tool_choice.type".into(),
                    message: format!(
                        "tool choice {kind:?}; Bedrock can be asked for \"auto\", \"required\", \"none\" or a named function or custom tool"
                    ),
                });
            }
        })
    }
}

/// The Bedrock name of a tool (or a tool called in the history).
pub fn bedrock_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
        None => name.to_owned(),
    }
}

fn required_name<'t>(tool: &'t Tool, at: &str) -> Result<&'t str, TranslateError> {
    tool.name.as_deref().ok_or_else(|| TranslateError::Invalid {
        param: format!("{at}.name"),
        message: format!("a {} tool needs a name", tool.kind),
    })
}

/// A freeform tool as a function of one string. Its grammar, when it has
/// one, goes into the argument's description so the model can follow it.
fn freeform_schema(format: Option<&Value>) -> Value {
    let mut description = "The tool's whole input, as free text.".to_owned();
    if let Some(format) = format
        && format.get("type").and_then(Value::as_str) == Some("grammar")
    {
        let syntax = format
            .get("syntax")
            .and_then(Value::as_str)
            .unwrap_or("lark");
        let definition = format
            .get("definition")
            .and_then(Value::as_str)
            .unwrap_or_default();
        description = format!(
            "The tool's whole input, as free text following this {syntax} grammar:\n{definition}"
        );
    }
    json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": description}},
        "required": ["input"]
    })
}

/// The argument object of a freeform tool call.
pub fn freeform_arguments(input: &str) -> String {
    json!({ "input": input }).to_string()
}

/// The `input` string of a freeform tool call from Bedrock's argument object.
pub fn freeform_input(arguments: &Value) -> String {
    match arguments.get("input") {
        Some(Value::String(s)) => s.clone(),
        // The model ignored the schema: hand over what it sent.
        Some(other) => other.to_string(),
        None => arguments.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(v: Value) -> Vec<Tool> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn functions_custom_tools_and_namespaces_become_functions() {
        let index = ToolIndex::of(&tools(json!([
            {"type": "function", "name": "exec_command", "description": "run",
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
            {"type": "custom", "name": "apply_patch", "description": "patch",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}},
            {"type": "namespace", "name": "agents", "tools": [{"type": "function", "name": "close"}]},
            {"type": "web_search", "external_web_access": false},
            {"type": "image_generation"}
        ])))
        .unwrap();
        assert_eq!(index.dropped, ["web_search", "image_generation"]);
        let chat = index.as_chat_tools();
        let names: Vec<&str> = chat.iter().map(|t| t.function.name.as_str()).collect();
        assert_eq!(names, ["exec_command", "apply_patch", "agents__close"]);
        let patch = chat[1].function.parameters.as_ref().unwrap();
        assert_eq!(patch["required"], json!(["input"]));
        assert!(
            patch["properties"]["input"]["description"]
                .as_str()
                .unwrap()
                .contains("start: begin_patch")
        );
        assert_eq!(
            chat[2].function.parameters,
            Some(json!({"type": "object", "properties": {}}))
        );

        assert_eq!(
            index.client_call("agents__close"),
            (
                "close".to_owned(),
                CallKind::Function {
                    namespace: Some("agents".into())
                }
            )
        );
        assert_eq!(
            index.client_call("apply_patch"),
            ("apply_patch".to_owned(), CallKind::Custom)
        );
        assert_eq!(
            index.client_call("unknown"),
            ("unknown".to_owned(), CallKind::Function { namespace: None })
        );
        assert_eq!(bedrock_name("close", Some("agents")), "agents__close");
    }

    #[test]
    fn bad_tools_name_the_field() {
        let err = ToolIndex::of(&tools(json!([{"type": "function"}]))).unwrap_err();
        assert_eq!(err.param(), Some("tools[0].name"));
        let err = ToolIndex::of(&tools(
            json!([{"type": "function", "name": "f", "parameters": [1]}]),
        ))
        .unwrap_err();
        assert_eq!(err.param(), Some("tools[0].parameters"));
        let err = ToolIndex::of(&tools(json!([{"type": "namespace", "name": "a",
            "tools": [{"type": "namespace", "name": "b"}]}])))
        .unwrap_err();
        assert_eq!(err.param(), Some("tools[0].tools[0].type"));
    }

    #[test]
    fn tool_choice_maps_to_the_bedrock_name() {
        let index = ToolIndex::of(&tools(json!([
            {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]}
        ])))
        .unwrap();
        let named: ToolChoice =
            serde_json::from_value(json!({"type": "function", "name": "f"})).unwrap();
        let Some(openai::ToolChoice::Named(n)) = index.chat_choice(Some(&named)).unwrap() else {
            panic!("named choice expected")
        };
        assert_eq!(n.function.name, "ns__f");
        let auto = ToolChoice::Mode("auto".into());
        assert_eq!(
            index.chat_choice(Some(&auto)).unwrap(),
            Some(openai::ToolChoice::Mode("auto".into()))
        );
        let hosted: ToolChoice = serde_json::from_value(json!({"type": "web_search"})).unwrap();
        assert_eq!(
            index.chat_choice(Some(&hosted)).unwrap_err().param(),
            Some("tool_choice.type")
        );
        let unknown: ToolChoice =
            serde_json::from_value(json!({"type": "function", "name": "g"})).unwrap();
        assert!(index.chat_choice(Some(&unknown)).is_err());
    }

    #[test]
    fn freeform_input_round_trips() {
        let args: Value = serde_json::from_str(&freeform_arguments("*** Begin Patch\n")).unwrap();
        assert_eq!(freeform_input(&args), "*** Begin Patch\n");
        assert_eq!(freeform_input(&json!({"input": 3})), "3");
    }
}
