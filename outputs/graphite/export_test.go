package graphite

// SeriesName is the name the output writes for a stat with labels, by
// the template and the labels setting: for the tests, as stats carry no
// labels yet.
func SeriesName(template, labels, id, nickname, name string, ls []Label) (string, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	t.labelsPath = labels == "path"
	pre, post := t.node(id, nickname)
	return string(t.appendPath(nil, pre, name, post, ls)), nil
}
