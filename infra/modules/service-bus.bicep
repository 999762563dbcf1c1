// Service Bus: the topic `domain-events` with duplicate detection (the publisher sets the
// event id as message id), one subscription per projector or reaction, filtered on the
// event types it handles (sys.label is the message subject, the event type).
param name string
param location string
param tags object
@description('[{ name, eventTypes }]: the subscriptions the code declares.')
param subscriptions array
param appIdentityName string
param topicName string = 'domain-events'
@description('Deliveries before Service Bus dead-letters a message (main.bicep: busMaxAttempts).')
param maxDeliveryCount int

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}
resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2026-01-01' = {
  parent: namespace
  name: topicName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    defaultMessageTimeToLive: 'P14D'
    enableBatchedOperations: true
    maxSizeInMegabytes: 5120
  }
}

resource topicSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2026-01-01' = [
  for subscription in subscriptions: {
    parent: topic
    name: subscription.name
    properties: {
      maxDeliveryCount: maxDeliveryCount
      lockDuration: 'PT1M'
      deadLetteringOnMessageExpiration: true
      deadLetteringOnFilterEvaluationExceptions: true
      defaultMessageTimeToLive: 'P14D'
    }
  }
]

resource rules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2026-01-01' = [
  for (subscription, index) in subscriptions: {
    parent: topicSubscriptions[index]
    // Named $Default so it replaces the catch-all rule a new subscription starts with.
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: { sqlExpression: 'sys.label IN (${join(map(subscription.eventTypes, type => '\'${type}\''), ', ')})' }
    }
  }
]

// The app publishes to the topic and receives from its subscriptions: no Manage right.
var roles = {
  sender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
}

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(roles): {
    scope: topic
    name: guid(topic.id, appIdentity.id, role.value)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: appIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output id string = namespace.id

@description('Action group told when a message is dead-lettered.')
param actionGroupId string

resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: 'alert-dead-letters-${name}'
  location: 'global'
  tags: tags
  properties: {
    description: 'A message was dead-lettered: see the runbook (npm run dlq)'
    severity: 1
    enabled: true
    scopes: [namespace.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'dead-lettered'
          criterionType: 'StaticThresholdCriterion'
          metricName: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [{ actionGroupId: actionGroupId }]
  }
}
