package gatherer

// Reload takes what the gatherer can change without a restart: under the
// "allowlist" enrolment policy it rereads the allowlist at once and
// disconnects the connected nodes no longer on it (they are refused at
// every reconnect, as the allowlist is checked at each handshake). It is
// what SIGHUP does. A damaged allowlist is reported and the one read before
// stays in force. Changes to gatherer.hcl take a restart.
func (g *Gatherer) Reload() error {
	allowed, err := g.nodes.RereadAllowlist()
	if err != nil {
		g.log.Error("reload: the allowlist could not be read; the one read before stays in force", "error", err)
		return err
	}
	if allowed == nil {
		g.log.Info("reload: nothing to reload under this enrolment policy; restart the gatherer to apply gatherer.hcl (its port and furl persist)")
		return nil
	}
	gone := g.hosts.DropUnlisted(allowed)
	g.log.Info("reload: allowlist reread", "nodes", len(allowed), "disconnected", gone)
	return nil
}
