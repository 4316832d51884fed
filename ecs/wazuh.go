package ecs

// Wazuh holds the wazuh.* fields of normalized wazuh events.
type Wazuh struct{}
