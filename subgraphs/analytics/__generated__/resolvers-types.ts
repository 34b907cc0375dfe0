import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { Context } from '../loaders.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A calendar date, YYYY-MM-DD, in UTC. */
  Date: { input: string; output: string; }
  /** An instant in time, ISO 8601 in UTC, e.g. 2026-11-26T12:00:00.000Z. */
  DateTime: { input: string; output: string; }
  _FieldSet: { input: unknown; output: unknown; }
};

/** Something a user did. */
export type AnalyticsEvent = {
  __typename?: 'AnalyticsEvent';
  name: Scalars['String']['output'];
  occurredAt: Scalars['DateTime']['output'];
  /** The event's own properties (Mixpanel allows up to 255); they come with the event, at no cost of their own. */
  properties: Array<EventProperty>;
};

/** How long an answer may be kept, and by whom: the gateway's Cache-Control (private: the user's own cache only). */
export type CacheControlScope =
  | 'PRIVATE'
  | 'PUBLIC';

/** The count of one period. */
export type EventCountPoint = {
  __typename?: 'EventCountPoint';
  count: Scalars['Int']['output'];
  /** Start of the interval. */
  periodStart: Scalars['DateTime']['output'];
};

/** How often an event happened, per period. */
export type EventCountSeries = {
  __typename?: 'EventCountSeries';
  event: Scalars['String']['output'];
  interval: TimeInterval;
  /** One point per period, oldest first: at most 744 (hours of 31 days; days span at most 366, months 60), all from one query. */
  points: Array<EventCountPoint>;
  /** Sum of all points. */
  total: Scalars['Int']['output'];
};

/** One property of an event. */
export type EventProperty = {
  __typename?: 'EventProperty';
  key: Scalars['String']['output'];
  value: Scalars['String']['output'];
};

/** One property of a recorded event. */
export type EventPropertyInput = {
  key: Scalars['String']['input'];
  value: Scalars['String']['input'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Sends every parked event of this replica's outbox again (after the cause was fixed); returns how many. Needs the admin scope. */
  replayTrackDeadLetters: Scalars['Int']['output'];
  /** Records events. Each event's id makes a repeated call safe: the provider keeps one event per id. */
  track: TrackPayload;
};


export type MutationTrackArgs = {
  events: Array<TrackEventInput>;
};

export type Query = {
  __typename?: 'Query';
  /** How often an event happened, per interval, between two dates (both included, at most 366 days apart). */
  eventCounts: EventCountSeries;
  /** Tracked events Segment refused as invalid, parked by this replica's outbox; at most `first` (1 to 1000). Needs the admin scope. */
  trackDeadLetters: Array<TrackDeadLetter>;
};


export type QueryEventCountsArgs = {
  event: Scalars['String']['input'];
  from: Scalars['Date']['input'];
  interval?: InputMaybe<TimeInterval>;
  to: Scalars['Date']['input'];
};


export type QueryTrackDeadLettersArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** The period event counts are grouped by. */
export type TimeInterval =
  | 'DAY'
  | 'HOUR'
  | 'MONTH';

/** A tracked event Segment refused, kept so it can be fixed and replayed. */
export type TrackDeadLetter = {
  __typename?: 'TrackDeadLetter';
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  occurredAt: Scalars['DateTime']['output'];
  parkedAt: Scalars['DateTime']['output'];
  reason: Scalars['String']['output'];
  userId: Scalars['ID']['output'];
};

/** One event to record. */
export type TrackEventInput = {
  /** Dedup id of the event; generated when absent. At most 100 characters. */
  id?: InputMaybe<Scalars['ID']['input']>;
  /** Event name, 1 to 255 characters. */
  name: Scalars['String']['input'];
  /** When it happened; now when absent. */
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  properties?: InputMaybe<Array<EventPropertyInput>>;
  userId: Scalars['ID']['input'];
};

/** Events accepted for recording, with their ids. */
export type TrackPayload = {
  __typename?: 'TrackPayload';
  /** How many events the provider accepted. */
  accepted: Scalars['Int']['output'];
  /** The dedup ids of the events, in input order. */
  eventIds: Array<Scalars['ID']['output']>;
};

export type User = {
  __typename?: 'User';
  id: Scalars['ID']['output'];
  /** When the user last did anything we track, within the last 30 days; null if not. */
  lastSeenAt?: Maybe<Scalars['DateTime']['output']>;
  /**
   * The user's most recent events of the last 30 days, newest first. `last` is 1 to 100.
   * Null when analytics cannot be reached.
   */
  recentEvents?: Maybe<Array<AnalyticsEvent>>;
};


export type UserRecentEventsArgs = {
  last?: InputMaybe<Scalars['Int']['input']>;
};

export type WithIndex<TObject> = TObject & Record<string, any>;
export type ResolversObject<TObject> = WithIndex<TObject>;

export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ReferenceResolver<TResult, TReference, TContext> = (
      reference: TReference,
      context: TContext,
      info: GraphQLResolveInfo
    ) => Promise<TResult> | TResult;

      type ScalarCheck<T, S> = S extends true ? T : NullableCheck<T, S>;
      type NullableCheck<T, S> = Maybe<T> extends T ? Maybe<ListCheck<NonNullable<T>, S>> : ListCheck<T, S>;
      type ListCheck<T, S> = T extends (infer U)[] ? NullableCheck<U, S>[] : GraphQLRecursivePick<T, S>;
      export type GraphQLRecursivePick<T, S> = { [K in keyof T & keyof S]: ScalarCheck<T[K], S[K]> };
    

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

/** Mapping of federation types */
export type FederationTypes = ResolversObject<{
  User: User;
}>;

/** Mapping of federation reference types */
export type FederationReferenceTypes = ResolversObject<{
  User:
    ( { __typename: 'User' }
    & GraphQLRecursivePick<FederationTypes['User'], {"id":true}> );
}>;



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  AnalyticsEvent: ResolverTypeWrapper<AnalyticsEvent>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  CacheControlScope: CacheControlScope;
  Date: ResolverTypeWrapper<Scalars['Date']['output']>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  EventCountPoint: ResolverTypeWrapper<EventCountPoint>;
  EventCountSeries: ResolverTypeWrapper<EventCountSeries>;
  EventProperty: ResolverTypeWrapper<EventProperty>;
  EventPropertyInput: EventPropertyInput;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  TimeInterval: TimeInterval;
  TrackDeadLetter: ResolverTypeWrapper<TrackDeadLetter>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  TrackEventInput: TrackEventInput;
  TrackPayload: ResolverTypeWrapper<TrackPayload>;
  User: ResolverTypeWrapper<User>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  AnalyticsEvent: AnalyticsEvent;
  String: Scalars['String']['output'];
  Date: Scalars['Date']['output'];
  DateTime: Scalars['DateTime']['output'];
  EventCountPoint: EventCountPoint;
  EventCountSeries: EventCountSeries;
  EventProperty: EventProperty;
  EventPropertyInput: EventPropertyInput;
  Mutation: Record<PropertyKey, never>;
  Query: Record<PropertyKey, never>;
  TrackDeadLetter: TrackDeadLetter;
  ID: Scalars['ID']['output'];
  TrackEventInput: TrackEventInput;
  TrackPayload: TrackPayload;
  User: User | FederationReferenceTypes['User'];
  Boolean: Scalars['Boolean']['output'];
  Int: Scalars['Int']['output'];
}>;

export type CacheControlDirectiveArgs = {
  inheritMaxAge?: Maybe<Scalars['Boolean']['input']>;
  maxAge?: Maybe<Scalars['Int']['input']>;
  scope?: Maybe<CacheControlScope>;
};

export type CacheControlDirectiveResolver<Result, Parent, ContextType = Context, Args = CacheControlDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type AnalyticsEventResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AnalyticsEvent'] = ResolversParentTypes['AnalyticsEvent']> = ResolversObject<{
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  properties?: Resolver<Array<ResolversTypes['EventProperty']>, ParentType, ContextType>;
}>;

export interface DateScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Date'], any> {
  name: 'Date';
}

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type EventCountPointResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EventCountPoint'] = ResolversParentTypes['EventCountPoint']> = ResolversObject<{
  count?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  periodStart?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
}>;

export type EventCountSeriesResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EventCountSeries'] = ResolversParentTypes['EventCountSeries']> = ResolversObject<{
  event?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  interval?: Resolver<ResolversTypes['TimeInterval'], ParentType, ContextType>;
  points?: Resolver<Array<ResolversTypes['EventCountPoint']>, ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type EventPropertyResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EventProperty'] = ResolversParentTypes['EventProperty']> = ResolversObject<{
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  replayTrackDeadLetters?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  track?: Resolver<ResolversTypes['TrackPayload'], ParentType, ContextType, RequireFields<MutationTrackArgs, 'events'>>;
}>;

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  eventCounts?: Resolver<ResolversTypes['EventCountSeries'], ParentType, ContextType, RequireFields<QueryEventCountsArgs, 'event' | 'from' | 'interval' | 'to'>>;
  trackDeadLetters?: Resolver<Array<ResolversTypes['TrackDeadLetter']>, ParentType, ContextType, RequireFields<QueryTrackDeadLettersArgs, 'first'>>;
}>;

export type TrackDeadLetterResolvers<ContextType = Context, ParentType extends ResolversParentTypes['TrackDeadLetter'] = ResolversParentTypes['TrackDeadLetter']> = ResolversObject<{
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  parkedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  reason?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
}>;

export type TrackPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['TrackPayload'] = ResolversParentTypes['TrackPayload']> = ResolversObject<{
  accepted?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  eventIds?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
}>;

export type UserResolvers<ContextType = Context, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User'], FederationReferenceType extends FederationReferenceTypes['User'] = FederationReferenceTypes['User']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['User']> | FederationReferenceType, FederationReferenceType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  lastSeenAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  recentEvents?: Resolver<Maybe<Array<ResolversTypes['AnalyticsEvent']>>, ParentType, ContextType, RequireFields<UserRecentEventsArgs, 'last'>>;
}>;

export type Resolvers<ContextType = Context> = ResolversObject<{
  AnalyticsEvent?: AnalyticsEventResolvers<ContextType>;
  Date?: GraphQLScalarType;
  DateTime?: GraphQLScalarType;
  EventCountPoint?: EventCountPointResolvers<ContextType>;
  EventCountSeries?: EventCountSeriesResolvers<ContextType>;
  EventProperty?: EventPropertyResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  TrackDeadLetter?: TrackDeadLetterResolvers<ContextType>;
  TrackPayload?: TrackPayloadResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
}>;

export type DirectiveResolvers<ContextType = Context> = ResolversObject<{
  cacheControl?: CacheControlDirectiveResolver<any, any, ContextType>;
}>;
