-- ses_events: every SES event the configuration set publishes, one row per event.
--
-- Source   : SES configuration set -> Firehose (DirectPut, JSON -> Parquet conversion through this
--            table's schema) -> S3 prefix ses_events/dt=YYYY-MM-DD/hour=HH/.
-- Columns  : the SES event-publishing record with every name lower-cased (Glue and Parquet column
--            names are lower case; Firehose's OpenX JSON deserializer matches keys case-insensitively,
--            so "eventType" lands in eventtype and "commonHeaders" in commonheaders).
--            mail.tags is a MAP<string, ARRAY<string>>: the caller's tags (campaign, unique_code) and
--            the ses:* tags SES adds (ses:configuration-set, ses:source-ip, ses:from-domain,
--            ses:caller-identity, ses:outgoing-ip) are map KEYS, so the ':' and '-' in their names need
--            no column mapping. Read them with element_at(element_at(mail.tags, 'campaign'), 1):
--            element_at returns NULL for a missing key, where mail.tags['campaign'] fails the query.
--            send is the empty JSON object of a Send event, kept as a string (Hive has no empty struct).
--            open and click are the Open and Click events' details (open/click tracking);
--            click.linktags is a MAP like mail.tags.
-- Partitions: dt (yyyy-MM-dd) and hour (HH), both strings, by partition projection: no crawler, no
--            partition Lambda, no MSCK REPAIR.
-- Keep identical: the Terraform analytics module creates the same table in Glue
--            (aws_glue_catalog_table ses_events); a column change here must be made there too, and in
--            sql/local/ses_events.sql (the local DuckDB definition over the JSON lake).
-- Usage    : replace YOUR-EVENTS-BUCKET with the event bucket (Terraform output), run once in Athena.
-- Cost     : partition projection lists every dt x hour of its range that a query does not exclude,
--            so every saved query filters `dt BETWEEN ? AND ?` (execution parameters): Athena then
--            lists and reads only those days. A query without a dt filter lists every hour since
--            the projection start.
CREATE EXTERNAL TABLE IF NOT EXISTS ses_events (
    eventtype string,
    mail STRUCT<
        `timestamp`: string,
        messageid: string,
        source: string,
        sourcearn: string,
        sendingaccountid: string,
        destination: ARRAY<string>,
        headerstruncated: boolean,
        headers: ARRAY<STRUCT<name: string, value: string>>,
        commonheaders: STRUCT<
            `from`: ARRAY<string>,
            `to`: ARRAY<string>,
            messageid: string,
            subject: string
        >,
        -- sqlfluff hive: MAP is lexed as a type (lower case, spaced) but STRUCT/ARRAY as keywords.
        tags: MAP<string, ARRAY<string>>  -- noqa: CP05, LT01
    >,
    send string,
    delivery STRUCT<
        `timestamp`: string,
        processingtimemillis: bigint,
        recipients: ARRAY<string>,
        smtpresponse: string,
        reportingmta: string
    >,
    bounce STRUCT<
        bouncetype: string,
        bouncesubtype: string,
        bouncedrecipients: ARRAY<STRUCT<
            emailaddress: string,
            action: string,
            status: string,
            diagnosticcode: string
        >>,
        `timestamp`: string,
        feedbackid: string,
        reportingmta: string
    >,
    complaint STRUCT<
        complainedrecipients: ARRAY<STRUCT<emailaddress: string>>,
        `timestamp`: string,
        feedbackid: string,
        complaintfeedbacktype: string,
        useragent: string,
        arrivaldate: string
    >,
    reject STRUCT<reason: string>,
    failure STRUCT<errormessage: string, templatename: string>,
    deliverydelay STRUCT<
        `timestamp`: string,
        delaytype: string,
        expirationtime: string,
        reportingmta: string,
        delayedrecipients: ARRAY<STRUCT<
            emailaddress: string,
            status: string,
            diagnosticcode: string
        >>
    >,
    open STRUCT<
        `timestamp`: string,
        useragent: string,
        ipaddress: string
    >,
    click STRUCT<
        `timestamp`: string,
        useragent: string,
        ipaddress: string,
        link: string,
        linktags: MAP<string, ARRAY<string>>  -- noqa: CP05, LT01
    >
)
PARTITIONED BY (dt string, hour string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://YOUR-EVENTS-BUCKET/ses_events/'
TBLPROPERTIES (
    'parquet.compression' = 'SNAPPY',
    'projection.enabled' = 'true',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = '2024-01-01,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.hour.type' = 'integer',
    'projection.hour.range' = '0,23',
    'projection.hour.digits' = '2',
    'storage.location.template' = 's3://YOUR-EVENTS-BUCKET/ses_events/dt=${dt}/hour=${hour}/'
);
