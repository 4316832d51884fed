// Package wazuh normalizes Wazuh alerts to ECS.
package wazuh
