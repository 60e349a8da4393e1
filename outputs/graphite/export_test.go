package graphite

// SeriesName is the name the output writes for the series key (sdk/stat:
// name{label="value",…}) of a node, by the template and the labels
// setting.
func SeriesName(template, labels, id, nickname, key string) (string, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	t.labelsPath = labels == "path"
	pre, post := t.node(id, nickname)
	return string(t.appendPath(nil, pre, key, post)), nil
}
