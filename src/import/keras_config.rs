//! The architecture of a Keras model as `model.to_json()`, the `model_config`
//! attribute of a full-model H5, or a `.keras` archive's config.json state it
//! (Keras 2 and Keras 3 spellings): the layers in data-flow order, checked to
//! be one chain, and the input shape.
use serde_json::Value;

/// One layer as Keras serializes it.
#[derive(Clone, Debug)]
pub struct KerasLayer {
    pub name: String,
    pub class: String,
    pub config: Value,
}

/// The model: its name, input shape (without the batch axis) and layers in order.
#[derive(Clone, Debug)]
pub struct KerasModel {
    pub name: String,
    pub input_shape: Vec<usize>,
    pub layers: Vec<KerasLayer>,
}

/// Parse a model config; the error says what is wrong (the caller names the file).
pub fn parse_model_config(text: &str) -> Result<KerasModel, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not a Keras model config (JSON): {e}"))?;
    from_value(&root)
}

pub fn from_value(root: &Value) -> Result<KerasModel, String> {
    let class = root.get("class_name").and_then(Value::as_str).ok_or("not a Keras model config: no `class_name`")?;
    let config = root.get("config").ok_or("not a Keras model config: no `config`")?;
    let name = config.get("name").and_then(Value::as_str).unwrap_or("model").to_string();
    let raw = config.get("layers").and_then(Value::as_array).ok_or_else(|| format!("{class} config has no `layers` list"))?;
    let mut layers = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        let class = l.get("class_name").and_then(Value::as_str).ok_or_else(|| format!("layers[{i}] has no `class_name`"))?;
        let config = l.get("config").cloned().unwrap_or(Value::Null);
        let name = l
            .get("name")
            .or_else(|| config.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("layers[{i}] ({class}) has no name"))?;
        layers.push((KerasLayer { name: name.to_string(), class: class.to_string(), config }, l));
    }
    let ordered = match class {
        "Sequential" => layers.into_iter().map(|(l, _)| l).collect(),
        "Functional" | "Model" => chain_order(layers)?,
        other => return Err(format!("model class `{other}` is not supported: use a Sequential or Functional model")),
    };
    let input_shape = input_shape(&ordered, config)?;
    Ok(KerasModel { name, input_shape, layers: ordered })
}

/// Names of the layers a Functional layer reads (Keras 2 and Keras 3 node formats).
fn inbound_names(raw: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let Some(nodes) = raw.get("inbound_nodes").and_then(Value::as_array) else {
        return Ok(names);
    };
    for node in nodes {
        match node {
            // Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            Value::Array(tensors) => {
                for t in tensors {
                    if let Some(n) = t.get(0).and_then(Value::as_str) {
                        names.push(n.to_string());
                    }
                }
            }
            // Keras 3: {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}], "kwargs": {}}
            Value::Object(_) => collect_keras_history(node, &mut names),
            _ => return Err(format!("unreadable inbound node {node}")),
        }
    }
    Ok(names)
}

fn collect_keras_history(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(n) = map.get("keras_history").and_then(|h| h.get(0)).and_then(Value::as_str) {
                out.push(n.to_string());
                return;
            }
            map.values().for_each(|x| collect_keras_history(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_keras_history(x, out)),
        _ => {}
    }
}

/// Order a Functional model's layers along its one chain, input to output.
fn chain_order(layers: Vec<(KerasLayer, &Value)>) -> Result<Vec<KerasLayer>, String> {
    let mut inbound = Vec::with_capacity(layers.len());
    for (l, raw) in &layers {
        let names = inbound_names(raw)?;
        if names.len() > 1 {
            return Err(format!(
                "layer `{}` ({}) reads {} tensors ({}): only models that are one chain are supported",
                l.name,
                l.class,
                names.len(),
                names.join(", ")
            ));
        }
        inbound.push(names.into_iter().next());
    }
    let roots: Vec<usize> = (0..layers.len()).filter(|&i| inbound[i].is_none()).collect();
    if roots.len() != 1 {
        return Err(format!("the model has {} inputs: only models with one input are supported", roots.len()));
    }
    let mut order = vec![roots[0]];
    let mut used = vec![false; layers.len()];
    used[roots[0]] = true;
    loop {
        let last = &layers[*order.last().expect("non-empty")].0.name;
        let next: Vec<usize> = (0..layers.len()).filter(|&i| inbound[i].as_deref() == Some(last.as_str())).collect();
        match next.as_slice() {
            [] => break,
            [i] if !used[*i] => {
                used[*i] = true;
                order.push(*i);
            }
            [_] => return Err(format!("layer `{last}` feeds a cycle")),
            many => {
                let names: Vec<&str> = many.iter().map(|&i| layers[i].0.name.as_str()).collect();
                return Err(format!(
                    "layer `{last}` feeds {} layers ({}): only models that are one chain are supported",
                    many.len(),
                    names.join(", ")
                ));
            }
        }
    }
    if let Some(i) = (0..layers.len()).find(|&i| !used[i]) {
        return Err(format!("layer `{}` ({}) is not on the chain from the input to the output", layers[i].0.name, layers[i].0.class));
    }
    let mut slots: Vec<Option<KerasLayer>> = layers.into_iter().map(|(l, _)| Some(l)).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each layer once")).collect())
}

/// The input shape without the batch axis: from the InputLayer, else the first layer's `batch_input_shape`.
fn input_shape(layers: &[KerasLayer], model_config: &Value) -> Result<Vec<usize>, String> {
    let shape = layers
        .iter()
        .take(1)
        .flat_map(|l| ["batch_input_shape", "batch_shape"].into_iter().filter_map(move |k| l.config.get(k).and_then(Value::as_array)))
        .next()
        .or_else(|| model_config.get("build_input_shape").and_then(Value::as_array))
        .ok_or("no input shape: the model has neither an InputLayer nor a `batch_input_shape` on its first layer")?;
    let dims: Vec<&Value> = shape.iter().skip(1).collect();
    if dims.is_empty() {
        return Err("the input shape has no feature axis".into());
    }
    dims.iter()
        .map(|d| {
            d.as_u64()
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("input shape {shape:?}: every axis but the batch must have a fixed size"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras3_functional_chain() {
        let text = r#"{"class_name": "Functional", "config": {"name": "m", "layers": [
            {"class_name": "Dense", "name": "d2", "config": {"name": "d2", "units": 2}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["d1", 0, 0]}}], "kwargs": {}}]},
            {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "d1", "config": {"name": "d1", "units": 4}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}], "kwargs": {}}]}
        ]}}"#;
        let m = parse_model_config(text).unwrap();
        assert_eq!(m.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["in", "d1", "d2"]);
        assert_eq!(m.input_shape, vec![3]);
    }

    #[test]
    fn branches_are_refused() {
        let text = r#"{"class_name": "Functional", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 3]}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "a", "config": {}, "inbound_nodes": [[["in", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "b", "config": {}, "inbound_nodes": [[["in", 0, 0, {}]]]}
        ]}}"#;
        let e = parse_model_config(text).unwrap_err();
        assert!(e.contains("`in` feeds 2 layers (a, b)"), "{e}");
        assert!(parse_model_config("{").unwrap_err().contains("JSON"));
    }
}
