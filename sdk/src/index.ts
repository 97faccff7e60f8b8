export { QuasarAgent, startPulse, type PulseOptions, type AgentExtension } from './agent.js'
export * from './protocol/index.js'
